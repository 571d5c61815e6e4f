"""Small HTML pieces the generation admins share: status badges, JSON blocks, links."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin_display import precise_time as precise_time  # re-exported for the admins

# The dev panel's stylesheet (badges, JSON blocks, timeline) and the list's row highlight;
# served by the devpanel app, hashed and cached for good in production.
PANEL_CSS = {"all": ["devpanel/devpanel.css"]}
PANEL_JS = ["devpanel/highlight.js"]


def status_chip(status: str, query: str | None = None) -> SafeString:
    """A status badge that links to the generation list filtered by that status; ``query``
    (a changelist query string) keeps the list's other filters."""
    url = reverse("admin:generations_generation_changelist")
    href = url + (query if query is not None else f"?status__exact={status}")
    return format_html(
        '<a class="gp-badge gp-status-{}" href="{}" title="Generations {}">{}</a>',
        status,
        href,
        status,
        status,
    )


def short_id(value: Any) -> str:
    """The 8 characters of a UUID the admin shows (the search box takes them back)."""
    return str(value)[:8] if value else "—"


def pretty_json(value: Any) -> SafeString:
    if value in (None, {}, []):
        return format_html('<span class="quiet">{}</span>', "—")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="gp-json">{}</pre>', text)


def admin_link(obj: Any, label: str | None = None) -> SafeString:
    if obj is None:
        return format_html('<span class="quiet">{}</span>', "—")
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


# The change form's context for a page where nothing can be changed: no Save buttons.
READ_ONLY_SUBMIT_ROW = {
    "show_save": False,
    "show_save_and_continue": False,
    "show_save_and_add_another": False,
}


class ReadOnlyAdminMixin:
    """Audit rows: shown, never added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
