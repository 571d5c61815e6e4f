"""Time-bucketed counters for statistics (cache lookups, validation outcomes).

With Redis (``REDIS_URL``) a bucket is a hash, incremented with ``HINCRBY`` by one script
(one round trip) and read with ``HGETALL``. Without Redis — the embedded default — the bucket is
a dict in the Django cache (the database cache there), updated read-modify-write: counts
may lose an increment when two processes write the same bucket at the same instant, which
is acceptable for a dashboard and documented as approximate. Never raises.

The request path counts with ``bucket_count``: each process adds its counts up in memory
and a thread of its own writes them, all buckets in one ``bucket_add``, within
``GENPIPE_STATS_FLUSH_S`` seconds of the first count of an interval (1 by default; 0
writes each count at once), when the process exits, and before this process reads
buckets. A create saves its statistics round trip that way (about 0.1 ms of web CPU of a
1 ms dedup hit, bench/). The bound: a read may miss up to one interval of another
process's counts, and a process killed with SIGKILL loses its last interval. A failed
write keeps its counts for the next one.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections

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
    for write in writes:
        _merge_into(increments, ttls, write)
    return increments, ttls


def _merge_into(
    increments: dict[str, dict[str, int]], ttls: dict[str, int], write: BucketWrite
) -> None:
    """Add ``write`` to ``increments`` and ``ttls`` (the longer lifetime wins)."""
    write_increments, write_ttls = write
    for key, fields in write_increments.items():
        merged = increments.setdefault(key, {})
        for name, amount in fields.items():
            merged[name] = merged.get(name, 0) + amount
    for key, ttl in write_ttls.items():
        ttls[key] = max(ttl, ttls.get(key, 0))


def bucket_add(increments: Mapping[str, Mapping[str, int]], ttls: Mapping[str, int]) -> bool:
    """Add ``increments[key][field]`` to each bucket; ``ttls[key]`` is its lifetime (s).
    With Redis this is one round trip (one script), whatever the number of buckets.
    Returns whether the write went through (a failure is counted, never raised)."""
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
            return True
        for key, fields in increments.items():
            current = dict(cache.get(key) or {})
            for name, amount in fields.items():
                current[name] = int(current.get(name, 0)) + amount
            cache.set(key, current, ttls[key])
        return True
    except Exception as exc:
        count_failure("stats buckets", exc)
        return False


class _Pending:
    """This process's counts not written yet, and the thread that writes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.increments: dict[str, dict[str, int]] = {}
        self.ttls: dict[str, int] = {}
        self.due = threading.Event()  # set while counts wait for the writer
        self.writer: threading.Thread | None = None

    def add(self, write: BucketWrite) -> None:
        with self.lock:  # merged in place: ``take`` hands the writer these dicts and new ones
            _merge_into(self.increments, self.ttls, write)
            if not self.due.is_set():
                self.due.set()
            if self.writer is None:
                self.writer = threading.Thread(
                    target=self.write_forever, name="genpipe-stats", daemon=True
                )
                self.writer.start()

    def take(self) -> BucketWrite:
        with self.lock:
            taken = self.increments, self.ttls
            self.increments, self.ttls = {}, {}
            self.due.clear()
        return taken

    def flush(self) -> bool:
        increments, ttls = self.take()
        if not increments or bucket_add(increments, ttls):
            return True
        self.add((increments, ttls))  # written with the next interval's counts
        return False

    def write_forever(self) -> None:
        while True:
            self.due.wait()
            time.sleep(max(0.0, float(settings.GENPIPE_STATS_FLUSH_S)))
            self.flush()
            if telemetry_client() is None:  # the database cache: no connection kept idle
                connections.close_all()


_pending = _Pending()


def _forked() -> None:
    # A forked child (gunicorn, Celery's prefork pool) starts empty, without the parent's
    # writer thread: the parent still writes what it had counted.
    global _pending
    _pending = _Pending()


os.register_at_fork(after_in_child=_forked)


def bucket_count(increments: Mapping[str, Mapping[str, int]], ttls: Mapping[str, int]) -> None:
    """Count toward the buckets; written with this process's other counts within
    ``GENPIPE_STATS_FLUSH_S`` seconds (at once when it is 0). Never raises."""
    if float(settings.GENPIPE_STATS_FLUSH_S) <= 0:
        bucket_add(increments, ttls)
        return
    _pending.add((increments, ttls))


def buckets_flush() -> bool:
    """Write this process's counted statistics now; whether that went through (what
    failed is kept for the next write)."""
    return _pending.flush()


atexit.register(buckets_flush)


def buckets_read(keys: list[str]) -> list[dict[str, str]]:
    """The buckets' fields (as strings, like Redis returns them), in ``keys`` order,
    this process's counts written first."""
    buckets_flush()
    client = telemetry_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return list(pipe.execute())
    found = cache.get_many(keys)
    return [{k: str(v) for k, v in (found.get(key) or {}).items()} for key in keys]
