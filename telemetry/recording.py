"""Write telemetry aggregates: one Redis round trip per event, never an exception.

Two events feed the aggregates of a provider and of an operation type:

- ``telemetry_record_attempt`` after every provider call: attempts, attempt failures,
  tokens and USD cost (totals, minute and hour buckets), consecutive failures of the
  provider, and the provider's error hash for a failure;
- ``telemetry_record_terminal`` after a generation reaches a terminal status (the state
  machine guarantees this happens once, so a cancel racing a completion counts once):
  total, completed / failed / cancelled, and one latency sample for generations that
  actually ran (completed or failed after processing started).

Each event is one ``EVALSHA`` of a script written for it: the keys (built by
:mod:`telemetry.keys`) travel as ``KEYS``, the figures as a flat ``ARGV``, so neither
side encodes or decodes a document. A minute or hour bucket gets its TTL when the event
creates it (the first increment of its leading counter), not on every write. Redis
errors (or no Redis) are counted and logged; the database keeps the durable record and
``rebuild_telemetry`` can replay it. Inside ``telemetry_batch`` the events of one unit of
work (the worker's completion: its terminal and attempt events) wait and go together, in
one round trip, at the end of the block, or earlier in another round to the
same Redis that takes them over (``telemetry_batch_join``: the completion's transition
round, ``generations.hooks``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis

from core.redaction import redact
from core.redis_round import Round

from . import keys
from .store import count_failure, run_script, script_sha, telemetry_client

SCOPES = ("provider", "operation")

# Shared head of both scripts. KEYS hold two scopes (provider, then operation type) of
# `stride` keys each, the scope's counters, minute bucket and hour bucket first; ARGV[1]
# and ARGV[2] are the minute and hour bucket TTLs. `count(base, field, more)` increments
# `field` in the scope's three counter hashes, gives a bucket its TTL when that increment
# creates it, and calls `more(key)` on each hash.
_HEAD_LUA = """
local stride = #KEYS / 2
local ttls = {false, ARGV[1], ARGV[2]}
local function count(base, field, more)
  for b = 1, 3 do
    local key = KEYS[base + b]
    if redis.call('HINCRBY', key, field, 1) == 1 and ttls[b] then
      redis.call('EXPIRE', key, ttls[b])
    end
    more(key)
  end
end
"""

# KEYS per scope: the three counter hashes, and for a failed call the error hash and the
# error index. ARGV after the TTLs: tokens in, tokens out, cost in USD ("" for none); for
# a failed call also the error code, message, last-seen ISO time, epoch time, error TTL.
ATTEMPT_LUA = (
    _HEAD_LUA
    + """
local failed = stride == 5
local tin, tout, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local function usage(key)
  if failed then redis.call('HINCRBY', key, 'attempt_failures', 1) end
  if tin > 0 then redis.call('HINCRBY', key, 'tokens_in', tin) end
  if tout > 0 then redis.call('HINCRBY', key, 'tokens_out', tout) end
  if cost ~= '' then redis.call('HINCRBYFLOAT', key, 'cost_usd', cost) end
end
for base = 0, stride, stride do
  count(base, 'attempts', usage)
  if failed then
    local err, index = KEYS[base + 4], KEYS[base + 5]
    redis.call('HINCRBY', KEYS[base + 1], 'consecutive_failures', 1)
    redis.call('HINCRBY', err, 'count', 1)
    redis.call('HSET', err, 'last_error', ARGV[7], 'last_seen', ARGV[8])
    redis.call('ZADD', index, ARGV[9], ARGV[6])
    redis.call('EXPIRE', err, ARGV[10])
    redis.call('EXPIRE', index, ARGV[10])
  else
    redis.call('HSET', KEYS[base + 1], 'consecutive_failures', 0)
  end
end
return 1
"""
)

# KEYS per scope: the three counter hashes, and when the generation ran the latency set
# and its by-time companion. ARGV after the TTLs: status; with a sample also the member
# (generation id), latency in ms, epoch time and the window's cutoff.
TERMINAL_LUA = (
    _HEAD_LUA
    + """
local status = ARGV[3]
local function outcome(key) redis.call('HINCRBY', key, status, 1) end
for base = 0, stride, stride do
  count(base, 'total', outcome)
  if stride == 5 then
    local values, times = KEYS[base + 4], KEYS[base + 5]
    local old = redis.call('ZRANGEBYSCORE', times, '-inf', '(' .. ARGV[7], 'LIMIT', 0, 5000)
    if #old > 0 then
      redis.call('ZREM', values, unpack(old))
      redis.call('ZREM', times, unpack(old))
    end
    redis.call('ZADD', values, ARGV[5], ARGV[4])
    redis.call('ZADD', times, ARGV[6], ARGV[4])
  end
end
return 1
"""
)

_BUCKET_TTLS = [keys.MINUTE_TTL_S, keys.HOUR_TTL_S]


_pending = threading.local()


@contextmanager
def telemetry_batch() -> Iterator[None]:
    """Hold the events recorded inside the block and send them at its end, in order, in
    one round trip (``core.redis_round.Round``); recording then answers ``True`` before
    Redis took the event. Failures are counted as for single events; nested blocks join
    the outer one."""
    if getattr(_pending, "events", None) is not None:
        yield
        return
    _pending.events = []
    try:
        yield
    finally:
        events, _pending.events = _pending.events, None
        _flush(events)


Held = tuple[str, str, list[str], list[object]]  # what, script, keys, args


def _flush(events: list[Held]) -> None:
    client = telemetry_client()
    if client is None or not events:
        return
    if len(events) == 1:
        _send(*events[0])
        return
    pipe = Round(client)
    _queue(pipe, events)
    try:
        results: list[Any] = pipe.execute()
    except Exception as exc:  # telemetry never fails a request or a task
        results = [exc] * len(events)
    _settle(events, results)


def _queue(pipe: Any, events: list[Held]) -> None:
    for _, script, event_keys, args in events:
        pipe.evalsha(script_sha(script), len(event_keys), *event_keys, *args)


def _settle(events: list[Held], results: list[Any]) -> None:
    """Each pipelined event's outcome: a script Redis did not know yet is sent again (which
    loads it), a failure is counted."""
    for event, result in zip(events, results, strict=True):
        if isinstance(result, redis.exceptions.NoScriptError):
            _send(*event)  # loads the script (held again, in an open batch)
        elif isinstance(result, BaseException):
            count_failure(event[0], result)


class Joined:
    """Events of an open ``telemetry_batch`` queued on someone else's round
    (``telemetry_batch_join``): ``count`` commands at the end of it."""

    def __init__(self, events: list[Held]) -> None:
        self.events = events
        self.count = len(events)

    def settle(self, results: list[Any] | BaseException) -> None:
        """Call with the round's last ``count`` results (``core.redis_round.Round.execute``),
        or with the exception that kept it from being sent."""
        if isinstance(results, BaseException):
            results = [results] * self.count
        _settle(self.events, results)


def telemetry_batch_join(pipe: Any) -> Joined | None:
    """Move the events the open ``telemetry_batch`` holds onto ``pipe``, a round to
    telemetry's Redis (``REDIS_URL``) that the caller sends, so they share its round trip;
    the caller then settles them (``Joined.settle``). ``None`` when nothing is held."""
    events = getattr(_pending, "events", None)
    if not events or telemetry_client() is None:
        return None
    taken = list(events)
    events.clear()
    _queue(pipe, taken)
    return Joined(taken)


def _send(what: str, script: str, event_keys: list[str], args: list[object]) -> bool:
    pending = getattr(_pending, "events", None)
    if pending is not None:
        pending.append((what, script, event_keys, args))
        return True
    client = telemetry_client()
    if client is None:
        return False
    try:
        run_script(client, script, event_keys, args)
    except Exception as exc:  # telemetry never fails a request or a task
        count_failure(what, exc)
        return False
    return True


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
    minute, hour = keys.minute_stamp(at), keys.hour_stamp(at)
    code = error_code or "unknown"
    event_keys: list[str] = []
    for scope, ident in zip(SCOPES, (provider_id, operation_type), strict=True):
        event_keys += keys.counter_keys(scope, ident, minute, hour)
        if not succeeded:
            event_keys += [keys.error(scope, ident, code), keys.error_index(scope, ident)]
    args: list[object] = [
        *_BUCKET_TTLS,
        tokens_in,
        tokens_out,
        f"{cost_usd:.6f}" if cost_usd else "",
    ]
    if not succeeded:
        # Redacted again (cheap): Redis and the staff telemetry API never see a credential.
        message = redact(error_message, limit=500)
        args += [code, message, at.isoformat(), at.timestamp(), keys.ERROR_TTL_S]
    return _send("attempt", ATTEMPT_LUA, event_keys, args)


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
    minute, hour = keys.minute_stamp(at), keys.hour_stamp(at)
    sampled = latency_ms is not None and status in ("completed", "failed")
    event_keys: list[str] = []
    for scope, ident in zip(SCOPES, (provider_id, operation_type), strict=True):
        event_keys += keys.counter_keys(scope, ident, minute, hour)
        if sampled:
            event_keys += [keys.latencies(scope, ident), keys.latency_times(scope, ident)]
    args: list[object] = [*_BUCKET_TTLS, status]
    if sampled:
        cutoff = (at - keys.LATENCY_WINDOW).timestamp()
        args += [generation_id, latency_ms, at.timestamp(), cutoff]
    return _send("terminal", TERMINAL_LUA, event_keys, args)
