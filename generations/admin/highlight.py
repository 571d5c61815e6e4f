"""The generation list's ``?highlight=<id>``: which generation it names, and what to say when
that row is not on the page the list shows (filtered out, on another page, or unknown)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from core.admin_search import uuid_prefix_q

from ..models import Generation


def highlight_target(value: str) -> Generation | None:
    """The generation ``value`` names: a full id, or a prefix (the list's short id) that
    matches exactly one generation."""
    with contextlib.suppress(ValueError):
        return Generation.objects.filter(id=uuid.UUID(value)).only("id", "status").first()
    prefix = uuid_prefix_q(["id"], value)
    if prefix is None:
        return None
    matches = list(Generation.objects.filter(prefix).only("id", "status")[:2])
    return matches[0] if len(matches) == 1 else None


def highlight_missing(
    value: str, target: Generation | None, rows: Iterable[Any]
) -> dict[str, Any] | None:
    """None when the highlighted row is on this page; otherwise what the list says instead:
    the generation is unknown, or links to it and to a list that shows it."""
    if target is not None and any(row.pk == target.pk for row in rows):
        return None
    if target is None:
        return {"value": value, "found": False}
    changelist = reverse("admin:generations_generation_changelist")
    query = urlencode({"q": str(target.id), "highlight": str(target.id)})
    return {
        "value": value,
        "found": True,
        "short": str(target.id)[:8],
        "status": target.status,
        "detail_url": reverse("admin:generations_generation_change", args=[target.id]),
        "list_url": f"{changelist}?{query}",
    }
