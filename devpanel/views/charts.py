"""Helpers the chart pages share: hour labels and links to the filtered generation list."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode


def hour_rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hourly buckets labelled ``HH:00`` (UTC) for the charts."""
    return [{**row, "label": row["hour"].strftime("%H:00")} for row in series]


def generations_url(**filters: str) -> str:
    """The generation list filtered by ``filters`` (its own query parameters, e.g.
    ``provider__id__exact``, ``status__exact``, ``finished``, ``error``)."""
    url = reverse("admin:generations_generation_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url
