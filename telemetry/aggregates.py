"""Read the telemetry aggregates in Redis: totals, 1 h and 24 h windows, percentiles, errors.

One script call answers a scope (a provider or an operation type) by plain id: totals, the
minute and hour buckets summed inside Redis, latency percentiles by rank, and the top
error types. Windows are bucket-aligned: "1h" starts at the beginning of the minute 59
minutes ago, "24h" at the beginning of the hour 23 hours ago. Latency percentiles cover
the last 24 h (nearest rank, see ``telemetry.percentiles``). The figures computed from the
database, and the reports that join both, belong to the domain (``generations.figures``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import keys
from .health import BreakerFigures, health_classify
from .percentiles import PERCENTILES
from .store import count_failure, run_script, telemetry_client

FIELDS = (
    "total",
    "completed",
    "failed",
    "cancelled",
    "attempts",
    "attempt_failures",
    "tokens_in",
    "tokens_out",
)
ERROR_WINDOW = timedelta(days=7)
TOP_ERRORS = 5

# Trim a latency set to its window, then answer each percentile by rank (nearest rank, see
# telemetry.percentiles): {n, value or '' per percentile}. Never pulls the samples out.
_RANKS_LUA = """
local function ranks(values, times, cutoff, first, last)
  local old = redis.call('ZRANGEBYSCORE', times, '-inf', '(' .. cutoff, 'LIMIT', 0, 5000)
  if #old > 0 then
    redis.call('ZREM', values, unpack(old))
    redis.call('ZREM', times, unpack(old))
  end
  local n = redis.call('ZCARD', values)
  local out = {tostring(n)}
  for i = first, last do
    local p = tonumber(ARGV[i])
    local need = math.ceil(100 / (100 - p) - 1e-9)
    if n < need or n < 1 then
      out[#out + 1] = ''
    else
      local rank = math.max(1, math.ceil(p / 100 * n - 1e-9))
      out[#out + 1] = redis.call('ZRANGE', values, rank - 1, rank - 1, 'WITHSCORES')[2]
    end
  end
  return out
end
"""

# The percentiles alone (KEYS = latencies, latency times; ARGV = cutoff, percentiles).
_PERCENTILE_LUA = _RANKS_LUA + "return ranks(KEYS[1], KEYS[2], ARGV[1], 2, #ARGV)\n"

_READ_LUA = (
    _RANKS_LUA
    + """
local function sum(first, last)
  local acc, names = {}, {}
  for i = first, last do
    local flat = redis.call('HGETALL', KEYS[i])
    for j = 1, #flat, 2 do
      local name = flat[j]
      if acc[name] == nil then acc[name] = 0; names[#names + 1] = name end
      acc[name] = acc[name] + tonumber(flat[j + 1])
    end
  end
  local out = {}
  for _, name in ipairs(names) do
    out[#out + 1] = name
    out[#out + 1] = string.format('%.17g', acc[name])
  end
  return out
end
local totals = redis.call('HGETALL', KEYS[1])
local minutes = sum(5, 64)
local hours = sum(65, 88)
local r = ranks(KEYS[2], KEYS[3], ARGV[1], 2, #ARGV)
local errors = redis.call('ZREVRANGE', KEYS[4], 0, 4)
return {totals, minutes, hours, r, errors}
"""
)


@dataclass
class Counts:
    total: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    attempts: int = 0
    attempt_failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: Decimal = Decimal("0")

    def add(self, raw: dict[str, str]) -> None:
        for name in FIELDS:
            setattr(self, name, getattr(self, name) + int(raw.get(name) or 0))
        self.cost_usd += Decimal(raw.get("cost_usd") or "0")

    def as_dict(self) -> dict[str, Any]:
        decided = self.completed + self.failed
        cost = self.cost_usd.quantize(Decimal("0.000001"))
        return {
            **{name: getattr(self, name) for name in FIELDS},
            "success_rate": round(self.completed / decided, 4) if decided else None,
            "cost_usd": str(cost),
            "avg_cost_usd": (
                str((cost / self.completed).quantize(Decimal("0.000001")))
                if self.completed
                else None
            ),
        }


@dataclass
class Stats:
    scope: str
    ident: str
    source: str
    totals: Counts = field(default_factory=Counts)
    last_1h: Counts = field(default_factory=Counts)
    last_24h: Counts = field(default_factory=Counts)
    samples: int = 0
    percentiles: dict[int, float | None] = field(default_factory=dict)
    consecutive_failures: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(
        self, limits: dict[str, float], breaker: BreakerFigures | None = None
    ) -> dict[str, Any]:
        """The report; a provider's ``breaker`` supplies its health figures and state."""
        if breaker is not None:
            health = health_classify(
                attempts=breaker.window_calls,
                attempt_failures=breaker.window_failures,
                consecutive_failures=breaker.consecutive_failures,
                p95_ms=self.percentiles.get(95),
                limits=limits,
                breaker_state=breaker.state,
                breaker_reason=breaker.reason,
                window=f"the last {breaker.window_s} s",
            )
        else:
            health = health_classify(
                attempts=self.last_1h.attempts,
                attempt_failures=self.last_1h.attempt_failures,
                consecutive_failures=self.consecutive_failures,
                p95_ms=self.percentiles.get(95),
                limits=limits,
            )
        return {
            "source": self.source,
            "health": health.as_dict(),
            "totals": self.totals.as_dict(),
            "last_1h": self.last_1h.as_dict(),
            "last_24h": self.last_24h.as_dict(),
            "latency_ms": {
                "window": "24h",
                "samples": self.samples,
                **{f"p{p}": self.percentiles.get(p) for p in PERCENTILES},
            },
            "consecutive_failures": (
                breaker.consecutive_failures if breaker is not None else self.consecutive_failures
            ),
            **({"breaker": breaker.as_dict()} if breaker is not None else {}),
            "top_errors": self.errors,
        }


def _integral(value: str) -> str:
    """Lua sums come back as %.17g text; counters are whole numbers."""
    number = float(value)
    return str(int(number)) if number.is_integer() else value


def window_starts(now: datetime) -> tuple[datetime, datetime]:
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    return minute - timedelta(minutes=59), hour - timedelta(hours=23)


# --- Redis -------------------------------------------------------------------------------


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def redis_stats(client: Any, scope: str, ident: str, now: datetime) -> Stats:
    """The figures of one scope from its Redis aggregates (raises on a Redis error)."""
    stats = Stats(scope, ident, "redis")
    bucket_keys = keys.minute_buckets(scope, ident, now) + keys.hour_buckets(scope, ident, now)
    reply = run_script(
        client,
        _READ_LUA,
        [
            keys.counters(scope, ident),
            keys.latencies(scope, ident),
            keys.latency_times(scope, ident),
            keys.error_index(scope, ident),
            *bucket_keys,
        ],
        [(now - keys.LATENCY_WINDOW).timestamp(), *PERCENTILES],
    )
    totals, minutes, hours, ranks, error_types = reply
    totals = _pairs(totals)
    stats.totals.add(totals)
    stats.last_1h.add({k: _integral(v) for k, v in _pairs(minutes).items()})
    stats.last_24h.add({k: _integral(v) for k, v in _pairs(hours).items()})
    stats.consecutive_failures = int(totals.get("consecutive_failures") or 0)
    stats.samples = int(ranks[0])
    for p, value in zip(PERCENTILES, ranks[1:], strict=True):
        stats.percentiles[p] = float(value) if value != "" else None
    if error_types:
        pipe = client.pipeline(transaction=False)
        for code in error_types:
            pipe.hgetall(keys.error(scope, ident, code))
        for code, raw in zip(error_types, pipe.execute(), strict=True):
            if raw:
                stats.errors.append(
                    {
                        "error_type": code,
                        "count": int(raw.get("count") or 0),
                        "last_error": raw.get("last_error", ""),
                        "last_seen": raw.get("last_seen"),
                    }
                )
        stats.errors.sort(key=lambda e: (-e["count"], e["error_type"]))
    return stats


# --- Database ----------------------------------------------------------------------------


def redis_series(scope: str, ident: str, starts: list[datetime]) -> list[dict[str, str]] | None:
    """The hour buckets starting at ``starts`` (None without Redis or when it fails)."""
    client = telemetry_client()
    if client is None:
        return None
    try:
        pipe = client.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(keys.hour_bucket(scope, ident, start))
        return list(pipe.execute())
    except Exception as exc:
        count_failure("series read", exc)
        return None
