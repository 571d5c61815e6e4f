"""Write telemetry aggregates: one Redis round trip per event, never an exception.

Two events feed the aggregates of a provider and of an operation type:

- ``telemetry_record_attempt`` after every provider call: attempts, attempt failures,
  tokens and USD cost (totals, minute and hour buckets), consecutive failures of the
  provider, and the provider's error hash for a failure;
- ``telemetry_record_terminal`` after a generation reaches a terminal status (the state
  machine guarantees this happens once, so a cancel racing a completion counts once):
  total, completed / failed / cancelled, and one latency sample for generations that
  actually ran (completed or failed after processing started).

All of it is one Lua script call. Redis errors (or no Redis) are counted and logged; the
database keeps the durable record and ``rebuild_telemetry`` can replay it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import keys
from .store import count_failure, run_script, telemetry_client

SCOPES = ("provider", "operation")

# ARGV[1] is a JSON document: {"incr": [[key, field, amount]], "fincr": [...],
# "hset": [[key, field, value]], "samples": [[values, times, member, latency, at, cutoff]],
# "zadd": [[key, score, member]], "expire": {key: ttl}} — each key expires once per event.
_RECORD_LUA = """
local e = cjson.decode(ARGV[1])
for _, c in ipairs(e.incr or {}) do redis.call('HINCRBY', c[1], c[2], c[3]) end
for _, c in ipairs(e.fincr or {}) do redis.call('HINCRBYFLOAT', c[1], c[2], c[3]) end
for _, c in ipairs(e.hset or {}) do redis.call('HSET', c[1], c[2], c[3]) end
for _, s in ipairs(e.samples or {}) do
  local old = redis.call('ZRANGEBYSCORE', s[2], '-inf', '(' .. s[6], 'LIMIT', 0, 5000)
  if #old > 0 then
    redis.call('ZREM', s[1], unpack(old))
    redis.call('ZREM', s[2], unpack(old))
  end
  redis.call('ZADD', s[1], s[4], s[3])
  redis.call('ZADD', s[2], s[5], s[3])
end
for _, z in ipairs(e.zadd or {}) do redis.call('ZADD', z[1], z[2], z[3]) end
for key, ttl in pairs(e.expire or {}) do redis.call('EXPIRE', key, ttl) end
return 1
"""


@dataclass
class _Event:
    incr: list[list[Any]] = field(default_factory=list)
    fincr: list[list[Any]] = field(default_factory=list)
    hset: list[list[Any]] = field(default_factory=list)
    samples: list[list[Any]] = field(default_factory=list)
    zadd: list[list[Any]] = field(default_factory=list)
    expire: dict[str, int] = field(default_factory=dict)

    def _buckets(self, scope: str, ident: str, at: datetime) -> list[str]:
        minute, hour = keys.minute_bucket(scope, ident, at), keys.hour_bucket(scope, ident, at)
        self.expire[minute] = keys.MINUTE_TTL_S
        self.expire[hour] = keys.HOUR_TTL_S
        return [keys.counters(scope, ident), minute, hour]

    def count(self, scope: str, ident: str, at: datetime, name: str, amount: int = 1) -> None:
        for key in self._buckets(scope, ident, at):
            self.incr.append([key, name, amount])

    def add_cost(self, scope: str, ident: str, at: datetime, cost: Decimal) -> None:
        for key in self._buckets(scope, ident, at):
            self.fincr.append([key, "cost_usd", f"{cost:.6f}"])

    def send(self, what: str) -> bool:
        client = telemetry_client()
        if client is None:
            return False
        payload = json.dumps(self.__dict__, separators=(",", ":"))
        try:
            run_script(client, _RECORD_LUA, [], [payload])
        except Exception as exc:  # telemetry never fails a request or a task
            count_failure(what, exc)
            return False
        return True


def _scopes(provider_id: str, operation_type: str) -> tuple[tuple[str, str], ...]:
    return (("provider", provider_id), ("operation", operation_type))


def telemetry_record_attempt(
    *,
    provider_id: str,
    operation_type: str,
    succeeded: bool,
    error_code: str = "",
    error_message: str = "",
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: Decimal = Decimal("0"),
    at: datetime,
) -> bool:
    """Record one finished provider call. Returns whether Redis took it."""
    event = _Event()
    for scope, ident in _scopes(provider_id, operation_type):
        event.count(scope, ident, at, "attempts")
        if not succeeded:
            event.count(scope, ident, at, "attempt_failures")
        if tokens_in:
            event.count(scope, ident, at, "tokens_in", tokens_in)
        if tokens_out:
            event.count(scope, ident, at, "tokens_out", tokens_out)
        if cost_usd:
            event.add_cost(scope, ident, at, cost_usd)
        scope_counters = keys.counters(scope, ident)
        if succeeded:
            event.hset.append([scope_counters, "consecutive_failures", 0])
            continue
        code = error_code or "unknown"
        event.incr.append([scope_counters, "consecutive_failures", 1])
        error_key = keys.error(scope, ident, code)
        event.incr.append([error_key, "count", 1])
        event.hset.append([error_key, "last_error", error_message[:500]])
        event.hset.append([error_key, "last_seen", at.isoformat()])
        event.zadd.append([keys.error_index(scope, ident), at.timestamp(), code])
        event.expire[error_key] = event.expire[keys.error_index(scope, ident)] = keys.ERROR_TTL_S
    return event.send("attempt")


def telemetry_record_terminal(
    *,
    generation_id: str,
    provider_id: str,
    operation_type: str,
    status: str,
    latency_ms: int | None,
    at: datetime,
) -> bool:
    """Record a generation's terminal status and, if it ran, its latency sample."""
    event = _Event()
    cutoff = (at - keys.LATENCY_WINDOW).timestamp()
    for scope, ident in _scopes(provider_id, operation_type):
        event.count(scope, ident, at, "total")
        event.count(scope, ident, at, status)
        if latency_ms is not None and status in ("completed", "failed"):
            event.samples.append(
                [
                    keys.latencies(scope, ident),
                    keys.latency_times(scope, ident),
                    generation_id,
                    latency_ms,
                    at.timestamp(),
                    cutoff,
                ]
            )
    return event.send("terminal")
