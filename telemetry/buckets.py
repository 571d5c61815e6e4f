"""Time-bucketed counters for statistics (cache lookups, validation outcomes).

With Redis (``REDIS_URL``) a bucket is a hash, incremented with ``HINCRBY`` by one script
(one round trip) and read with ``HGETALL``. Without Redis — the embedded default — the bucket is
a dict in the Django cache (the database cache there), updated read-modify-write: counts
may lose an increment when two processes write the same bucket at the same instant, which
is acceptable for a dashboard and documented as approximate. Never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache

from .store import count_failure, run_script, telemetry_client

# One command whatever the number of buckets (a pipeline of HINCRBYs and EXPIREs packs,
# sends and parses each): ARGV holds, per key, its number of fields, the (field, amount)
# pairs, then its TTL.
_ADD = """
local n = 1
for _, key in ipairs(KEYS) do
  local fields = tonumber(ARGV[n])
  n = n + 1
  for _ = 1, fields do
    redis.call('HINCRBY', key, ARGV[n], ARGV[n + 1])
    n = n + 2
  end
  redis.call('EXPIRE', key, ARGV[n])
  n = n + 1
end
return 1
"""


def buckets_available_exactly() -> bool:
    return telemetry_client() is not None


# What a statistic wants added: {bucket key: {field: amount}} and {bucket key: TTL (s)}.
BucketWrite = tuple[Mapping[str, Mapping[str, int]], Mapping[str, int]]


def bucket_merge(writes: Iterable[BucketWrite]) -> BucketWrite:
    """Several statistics' writes as one, to send them in a single round trip."""
    increments: dict[str, dict[str, int]] = {}
    ttls: dict[str, int] = {}
    for write_increments, write_ttls in writes:
        for key, fields in write_increments.items():
            merged = increments.setdefault(key, {})
            for name, amount in fields.items():
                merged[name] = merged.get(name, 0) + amount
        for key, ttl in write_ttls.items():
            ttls[key] = max(ttl, ttls.get(key, 0))
    return increments, ttls


def bucket_add(increments: Mapping[str, Mapping[str, int]], ttls: Mapping[str, int]) -> None:
    """Add ``increments[key][field]`` to each bucket; ``ttls[key]`` is its lifetime (s).
    With Redis this is one round trip (one script), whatever the number of buckets."""
    client = telemetry_client()
    try:
        if client is not None:
            keys = list(increments)
            args: list[Any] = []
            for key in keys:
                fields = increments[key]
                args.append(len(fields))
                for name, amount in fields.items():
                    args += [name, amount]
                args.append(ttls[key])
            run_script(client, _ADD, keys, args)
            return
        for key, fields in increments.items():
            current = dict(cache.get(key) or {})
            for name, amount in fields.items():
                current[name] = int(current.get(name, 0)) + amount
            cache.set(key, current, ttls[key])
    except Exception as exc:
        count_failure("stats buckets", exc)


def buckets_read(keys: list[str]) -> list[dict[str, str]]:
    """The buckets' fields (as strings, like Redis returns them), in ``keys`` order."""
    client = telemetry_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return list(pipe.execute())
    found = cache.get_many(keys)
    return [{k: str(v) for k, v in (found.get(key) or {}).items()} for key in keys]
