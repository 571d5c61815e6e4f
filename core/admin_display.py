"""Display helpers every app's admin shares."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.html import format_html
from django.utils.safestring import SafeString


def precise_time(value: datetime | None) -> SafeString:
    """A time to the millisecond, in UTC (the admin's format shows minutes only)."""
    if value is None:
        return format_html('<span class="quiet">{}</span>', "—")
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}">{}</time>',
        utc.isoformat(timespec="milliseconds"),
        utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d} UTC",
    )
