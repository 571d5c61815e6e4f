"""Calendar periods in UTC: the day, the ISO week (Monday), the month, or all time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime | None]:
    """``(start, end)`` of the period holding ``now``; ``end`` is ``None`` for ``total``."""
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following
    return EPOCH, None
