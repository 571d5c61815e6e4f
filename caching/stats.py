"""Cache statistics: hits and misses over real rolling windows, entries by strategy.

Every create that consults the cache (strategy other than ``always``, no ``force_new``)
counts one lookup: a hit served by the slot (``cache``) or by an identical generation
(``dedup``), or a miss. Counts go to minute buckets (kept 2 h) and hour buckets (kept
48 h) under ``generation:stats:cache:…`` (``telemetry.buckets``: added up per process and
written within ``GENPIPE_STATS_FLUSH_S``, to the telemetry Redis in one round trip, or the
Django cache without Redis, where counts are approximate); the
1 h window sums the last 60 minute buckets, the 24 h window the last 24 hour buckets.
Entries are counted from whichever cache backend holds the slots. Flushing slots never
touches these.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from telemetry.buckets import BucketWrite, buckets_available_exactly, buckets_read
from telemetry.keys import HOUR_TTL_S, MINUTE_TTL_S  # the buckets' one home
from telemetry.store import count_failure

from .inventory import SCAN_LIMIT as SCAN_LIMIT  # re-exported: the entries cap
from .inventory import slot_keys as _slot_keys


def _minute(at: datetime) -> str:
    return f"generation:stats:cache:m:{at:%Y%m%d%H%M}"


def _hour(at: datetime) -> str:
    return f"generation:stats:cache:h:{at:%Y%m%d%H}"


def cache_stats_write(*, outcome: str, now: datetime) -> BucketWrite:
    """The bucket increments of one lookup: ``outcome`` is ``cache``, ``dedup`` or ``miss``."""
    field = "misses" if outcome == "miss" else f"hits_{outcome}"
    minute, hour = _minute(now), _hour(now)
    return {minute: {field: 1}, hour: {field: 1}}, {minute: MINUTE_TTL_S, hour: HOUR_TTL_S}


def _window(raws: list[dict[str, str]]) -> dict[str, Any]:
    cache_hits = sum(int(r.get("hits_cache") or 0) for r in raws)
    dedup_hits = sum(int(r.get("hits_dedup") or 0) for r in raws)
    misses = sum(int(r.get("misses") or 0) for r in raws)
    lookups = cache_hits + dedup_hits + misses
    return {
        "hits": cache_hits + dedup_hits,
        "hits_cache": cache_hits,
        "hits_dedup": dedup_hits,
        "misses": misses,
        "hit_rate": round((cache_hits + dedup_hits) / lookups, 4) if lookups else None,
    }


def _strategy(key: str) -> str:
    segments = key.split("|")
    for strategy in ("per_playthrough", "per_player", "once"):
        if strategy in segments:
            return strategy
    return "unknown"


def cache_stats(*, now: datetime | None = None) -> dict[str, Any]:
    """Hit rate over 1 h and 24 h, entries by strategy, backend and reachability."""
    now = now or timezone.now()
    backend = str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]
    out: dict[str, Any] = {
        "backend": backend,
        "available": False,
        "reachable": True,
        "approximate": not buckets_available_exactly(),
    }
    keys = [_minute(now - timedelta(minutes=i)) for i in range(60)]
    keys += [_hour(now - timedelta(hours=i)) for i in range(24)]
    try:
        replies = buckets_read(keys)
        out.update(available=True, last_1h=_window(replies[:60]), last_24h=_window(replies[60:]))
    except Exception as exc:
        count_failure("cache stats read", exc)
        out["reachable"] = False
    try:
        slots, truncated = _slot_keys()
    except Exception as exc:
        count_failure("cache entries", exc)
        slots, truncated = [], False
        out["reachable"] = False
    by_strategy = Counter(_strategy(k) for k in slots)
    out["entries"] = {
        "total": len(slots),
        "truncated": truncated,
        "by_strategy": {
            s: by_strategy.get(s, 0) for s in ("once", "per_playthrough", "per_player")
        },
    }
    return out


def cache_stats_series(*, hours: int = 24, now: datetime | None = None) -> list[dict[str, Any]]:
    """Lookups per hour over the last ``hours`` hours, oldest first (the current hour
    included): ``hour``, slot and dedup hits, misses and the hit rate (``None`` in an hour
    without lookups). Raises when the buckets cannot be read."""
    now = now or timezone.now()
    starts = [
        (now - timedelta(hours=i)).replace(minute=0, second=0, microsecond=0)
        for i in reversed(range(hours))
    ]
    raws = buckets_read([_hour(start) for start in starts])
    return [{"hour": start, **_window([raw])} for start, raw in zip(starts, raws, strict=True)]
