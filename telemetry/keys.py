"""Redis keys of the telemetry aggregates (the design note's names). Pure functions.

- ``generation:agg:{scope}:{id}:counters`` — hash of lifetime totals;
  ``…:counters:m:{YYYYmmddHHMM}`` and ``…:counters:h:{YYYYmmddHH}`` — the same fields per
  minute (kept 2 h) and per hour (kept 48 h), summed for the 1 h and 24 h windows.
- ``generation:agg:{scope}:{id}:latencies`` — sorted set, member = generation id,
  score = latency in ms (one sample per generation, never collapsed by value);
  ``…:latencies:at`` — the same members scored by time, to trim to the window.
- ``generation:errors:provider:{id}:{error_type}`` — hash ``count``, ``last_error``,
  ``last_seen``, kept 7 days; ``generation:errors:provider:{id}:index`` — the error
  types seen, scored by last time (the same per operation type under
  ``generation:errors:operation:…``).

``scope`` is ``provider`` or ``operation``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

LATENCY_WINDOW = timedelta(hours=24)
MINUTE_TTL_S = 2 * 3600
HOUR_TTL_S = 48 * 3600
ERROR_TTL_S = 7 * 86400


def base(scope: str, ident: str) -> str:
    return f"generation:agg:{scope}:{ident}"


def counters(scope: str, ident: str) -> str:
    return f"{base(scope, ident)}:counters"


def minute_stamp(at: datetime) -> str:
    """``YYYYmmddHHMM`` of ``at`` (formatted by hand: ``strftime`` is several times slower
    and runs on every recorded event)."""
    return f"{at.year:04}{at.month:02}{at.day:02}{at.hour:02}{at.minute:02}"


def hour_stamp(at: datetime) -> str:
    """``YYYYmmddHH`` of ``at``."""
    return f"{at.year:04}{at.month:02}{at.day:02}{at.hour:02}"


def minute_bucket(scope: str, ident: str, at: datetime) -> str:
    return f"{counters(scope, ident)}:m:{minute_stamp(at)}"


def hour_bucket(scope: str, ident: str, at: datetime) -> str:
    return f"{counters(scope, ident)}:h:{hour_stamp(at)}"


def counter_keys(scope: str, ident: str, minute: str, hour: str) -> list[str]:
    """Totals, minute bucket and hour bucket of one scope, from precomputed stamps."""
    totals = counters(scope, ident)
    return [totals, f"{totals}:m:{minute}", f"{totals}:h:{hour}"]


def latencies(scope: str, ident: str) -> str:
    return f"{base(scope, ident)}:latencies"


def latency_times(scope: str, ident: str) -> str:
    return f"{latencies(scope, ident)}:at"


def error(scope: str, ident: str, error_type: str) -> str:
    return f"generation:errors:{scope}:{ident}:{error_type}"


def error_index(scope: str, ident: str) -> str:
    return f"generation:errors:{scope}:{ident}:index"


def minute_buckets(scope: str, ident: str, now: datetime) -> list[str]:
    """The 60 minute buckets of the last hour, current minute included."""
    return [minute_bucket(scope, ident, now - timedelta(minutes=i)) for i in range(60)]


def hour_buckets(scope: str, ident: str, now: datetime) -> list[str]:
    """The 24 hour buckets of the last day, current hour included."""
    return [hour_bucket(scope, ident, now - timedelta(hours=i)) for i in range(24)]
