"""Helpers the chart pages share."""

from __future__ import annotations

from typing import Any


def hour_rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hourly buckets labelled ``HH:00`` for the column charts."""
    return [{**row, "label": row["hour"].strftime("%H:00")} for row in series]
