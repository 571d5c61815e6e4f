"""Validation outcomes over time, for the dev panel's validation health view.

Every ``validate`` call and every create that reaches the validator counts one outcome
(valid or invalid, and ``source`` create/validate) plus one count per issue code
(``error:<code>``, ``warning:<code>``, ``suggestion:<code>``) in an hourly bucket
``generation:stats:validation:h:{YYYYmmddHH}`` kept 8 days (``telemetry.buckets``: added
up per process and written within ``GENPIPE_STATS_FLUSH_S``, one Redis round trip, or the
Django cache without Redis, approximate).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from .buckets import BucketWrite, buckets_available_exactly, buckets_read
from .store import count_failure

TTL_S = 8 * 86400


def _bucket(at: datetime) -> str:
    return f"generation:stats:validation:h:{at:%Y%m%d%H}"


def validation_outcome_write(
    *, source: str, valid: bool, codes: dict[str, list[str]], now: datetime
) -> BucketWrite:
    """The bucket increments of one validation run. ``codes`` maps errors, warnings and
    suggestions to issue codes."""
    key = _bucket(now)
    fields = {f"runs:{source}": 1, "valid" if valid else "invalid": 1}
    for kind, kind_codes in codes.items():
        for code in kind_codes:
            name = f"{kind}:{code}"
            fields[name] = fields.get(name, 0) + 1
    return {key: fields}, {key: TTL_S}


def validation_outcomes(*, hours: int = 24, now: datetime | None = None) -> dict[str, Any]:
    """Hourly series (oldest first) and totals by kind and code over the last ``hours``."""
    now = now or timezone.now()
    starts = [
        (now - timedelta(hours=i)).replace(minute=0, second=0, microsecond=0)
        for i in reversed(range(hours))
    ]
    try:
        buckets = buckets_read([_bucket(start) for start in starts])
    except Exception as exc:
        count_failure("validation stats read", exc)
        return {"available": False, "series": [], "by_code": [], "totals": {}}
    totals: Counter[str] = Counter()
    series = []
    for start, raw in zip(starts, buckets, strict=True):
        counts = Counter({k: int(v) for k, v in raw.items()})
        totals.update(counts)
        series.append({"hour": start, "valid": counts["valid"], "invalid": counts["invalid"]})
    issues: list[tuple[int, str, str]] = []
    for name, count in totals.items():
        kind, _, code = name.partition(":")
        if kind in {"error", "warning", "suggestion"}:
            issues.append((count, kind, code))
    by_code = [
        {"kind": kind, "code": code, "count": count}
        for count, kind, code in sorted(issues, key=lambda row: (-row[0], row[1], row[2]))
    ]
    return {
        "available": True,
        "approximate": not buckets_available_exactly(),
        "series": series,
        "by_code": by_code,
        "totals": {
            "valid": totals["valid"],
            "invalid": totals["invalid"],
            "creates": totals["runs:create"],
            "validations": totals["runs:validate"],
        },
    }
