"""Small HTML pieces the generation admins share: status badges, JSON blocks, links."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

# The dev panel's stylesheet (badges, JSON blocks, timeline) and the list's row highlight;
# served by the devpanel app, hashed and cached for good in production.
PANEL_CSS = {"all": ["devpanel/devpanel.css"]}
PANEL_JS = ["devpanel/highlight.js"]


def status_badge(status: str) -> SafeString:
    """A coloured status label; the colours are the stylesheet's ``gp-status-*`` rules."""
    return format_html('<span class="gp-badge gp-status-{}">{}</span>', status, status)


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


class ReadOnlyAdminMixin:
    """Audit rows: shown, never added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
