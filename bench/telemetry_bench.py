"""Telemetry micro-benchmarks, in-process against the real Redis (issue "telemetry", item 7).

    .venv/bin/python bench/telemetry_bench.py [--events 20000] [--reps 50] ...

Normally started by ``bench/run.py`` (``--scenarios telemetry`` runs only this part), which
reads the JSON document this script prints on stdout (progress goes to stderr). It uses its
own Redis database (default ``redis://127.0.0.1:6379/8``), **flushed at the start and at the
end**, and ``DJANGO_SETTINGS_MODULE=bench.bench_site.settings`` with ``REDIS_URL`` pointing
to that database, so ``telemetry.store.telemetry_client()`` is the product's own client.

1. Floor: one ``PING`` round trip, and one ``EVALSHA`` of ``return 1`` through
   ``telemetry.store.run_script``, on the telemetry client.
2. Cost per recorded event: ``telemetry_record_attempt`` and ``telemetry_record_terminal``
   ``--events`` times each (unique generation ids), timed one by one. The client's
   ``execute_command`` and its connections' ``send_packed_command`` are wrapped to count
   commands and round trips of every event; ``INFO commandstats`` deltas give the commands
   Redis processed (Lua-internal ones included) and the server time of the script. Then
   the cost is split: the recording call with ``run_script`` stubbed out (Python), and
   ``run_script`` alone replaying the calls sent (Redis call).
3. Percentile reads at each ``--sizes`` sample count: the latency sorted set of provider
   ``bench<size>`` (``generation:agg:provider:bench1M:latencies`` for 1,000,000) and its
   ``:at`` companion are filled by a Lua script in small chunks, with the provider's
   counters, 84 buckets and 5 error types; then ``generations.figures.telemetry_stats``
   (the full read), the percentile script alone and the counters + buckets pipeline alone
   are timed ``--reps`` times each, interleaved, and every answer is checked against
   ``telemetry.percentiles.percentile`` of the same values.

Exit status 0 when every event was taken by Redis and every read answered from Redis with
the expected figures, 1 otherwise; the targets' PASS/FAIL is in the JSON, not in the status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
SETTINGS_MODULE = "bench.bench_site.settings"
TARGET_EVENT_US = 500.0
TARGET_READ_MS = 5.0
TARGET_READ_SAMPLES = 1_000_000
DECOMPOSE_N = 2000  # calls of each half of the event-cost split
FILL_CHUNK = 1000  # members per fill call: a few ms of Redis time each
SPAN_S = 23 * 3600  # :at scores within the last 23 h, so the 24 h window trims nothing
# What a recording call can run in Redis: the call itself and the commands of its script.
RECORD_COMMANDS = frozenset(
    {
        *("evalsha", "eval", "hincrby", "hincrbyfloat", "hset", "expire"),
        *("zadd", "zrangebyscore", "zrem"),
    }
)
ERROR_CODES = ("timeout", "rate_limited", "upstream_5xx")

# Member i of the latency set: a generation-id-shaped string, latency 1 + (i*7919 mod 4999)
# ms (every value 1..4999 about N/4999 times, inserted in scrambled order), timestamp
# within the last 23 h. Integer arithmetic below 2^53: exact in Lua's doubles as in Python.
_FILL_LUA = """
local lat, at = KEYS[1], KEYS[2]
local first, count = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, span = tonumber(ARGV[3]), tonumber(ARGV[4])
local a, b = {}, {}
for i = first, first + count - 1 do
  local m = string.format('00000000-0000-4000-8000-%012x', i)
  a[#a + 1] = 1 + (i * 7919) % 4999
  a[#a + 1] = m
  b[#b + 1] = now - (i * 104729) % span
  b[#b + 1] = m
end
redis.call('ZADD', lat, unpack(a))
redis.call('ZADD', at, unpack(b))
return redis.call('ZCARD', lat)
"""
_NOOP_LUA = "return 1"


def fill_value(i: int) -> int:
    return 1 + (i * 7919) % 4999


def log(message: str) -> None:
    print(f"  [telemetry] {message}", file=sys.stderr, flush=True)


def summary(values: Sequence[float], unit: str) -> dict[str, float]:
    """n, mean, min, nearest-rank p50/p95/p99 and max, keys suffixed with ``unit``."""
    from telemetry.percentiles import percentile

    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    out = {"n": float(len(ordered)), f"mean_{unit}": sum(ordered) / len(ordered)}
    out[f"min_{unit}"] = ordered[0]
    for p in (50, 95, 99):
        value = percentile(ordered, p)
        if value is not None:
            out[f"p{p}_{unit}"] = value
    out[f"max_{unit}"] = ordered[-1]
    return out


# --- counting what the client sends ------------------------------------------------------


class Wire:
    """Counts what a ``redis.Redis`` client sends while the context is open.

    ``commands``: calls of the client's ``execute_command`` (one per command, none for a
    pipeline's queued commands). ``sends``: calls of ``send_packed_command`` on its
    connection class: one per command and one per pipeline, each followed by a wait for
    the reply, i.e. the round trips. The patch is on the class, so only the measured
    client may talk to Redis while the context is open. ``keep`` collects the arguments
    of every command for later analysis (references only, no copy).
    """

    def __init__(self, client: Any, keep: list[tuple[Any, ...]] | None = None) -> None:
        self.client = client
        self.keep = keep
        self.commands = 0
        self.sends = 0
        self._cls: Any = client.connection_pool.connection_class
        self._saved: Any = None

    def __enter__(self) -> Wire:
        execute = self.client.execute_command
        keep = self.keep
        self._saved = self._cls.__dict__.get("send_packed_command")
        send = self._cls.send_packed_command

        def counting_execute(*args: Any, **options: Any) -> Any:
            self.commands += 1
            if keep is not None:
                keep.append(args)
            return execute(*args, **options)

        def counting_send(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.sends += 1
            return send(conn, *args, **kwargs)

        self.client.execute_command = counting_execute
        self._cls.send_packed_command = counting_send
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self.client.execute_command
        if self._saved is None:
            del self._cls.send_packed_command
        else:
            self._cls.send_packed_command = self._saved


def commandstats(raw: Any) -> dict[str, dict[str, float]]:
    """Server-wide ``INFO commandstats``: {command: {calls, usec}}."""
    stats = raw.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): {"calls": float(v["calls"]), "usec": float(v["usec"])}
        for name, v in stats.items()
    }


def commandstats_delta(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, v in after.items():
        if name == "info":  # the snapshots themselves
            continue
        b = before.get(name, {"calls": 0.0, "usec": 0.0})
        calls = v["calls"] - b["calls"]
        if calls:
            out[name] = {"calls": calls, "usec": v["usec"] - b["usec"]}
    return out


class ServerCommandModel:
    """Commands Redis runs for the recorded events, following ``ATTEMPT_LUA`` and
    ``TERMINAL_LUA`` from the ``EVALSHA`` arguments the client sent: the EVALSHA; per scope
    one increment per counter field in each of the 3 counter hashes; the ``consecutive_failures``
    write, or for a failure the 6 error commands; an EXPIRE when the event creates a minute
    or hour bucket (its leading field's first increment, tracked here from the buckets that
    existed when the model was made); ZRANGEBYSCORE + 2 ZADD per latency sample (+2 ZREM
    only when old samples are trimmed, which never happens here: every sample is recent)."""

    def __init__(self, raw: Any) -> None:
        from telemetry.recording import ATTEMPT_LUA, TERMINAL_LUA
        from telemetry.store import script_sha as _sha

        self.kinds = {_sha(ATTEMPT_LUA): "attempt", _sha(TERMINAL_LUA): "terminal"}
        self.created: set[tuple[str, str]] = set()
        for key in raw.scan_iter(match="generation:agg:*:counters:[mh]:*", count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            for leading in ("attempts", "total"):
                if raw.hexists(name, leading):
                    self.created.add((name, leading))

    def _bucket_expires(self, event_keys: Sequence[Any], stride: int, leading: str) -> int:
        count = 0
        for base in (0, stride):
            for key in event_keys[base + 1 : base + 3]:
                if (str(key), leading) not in self.created:
                    self.created.add((str(key), leading))
                    count += 1
        return count

    def count(self, args: Sequence[Any]) -> int:
        numkeys = int(args[2])
        event_keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
        stride = numkeys // 2
        if self.kinds[str(args[1])] == "attempt":
            failed = stride == 5
            fields = 1 + failed + (int(argv[2]) > 0) + (int(argv[3]) > 0) + (str(argv[4]) != "")
            per_scope = 3 * fields + (6 if failed else 1)
            return 1 + 2 * per_scope + self._bucket_expires(event_keys, stride, "attempts")
        per_scope = 3 * 2 + (3 if stride == 5 else 0)
        return 1 + 2 * per_scope + self._bucket_expires(event_keys, stride, "total")


# --- floor ---------------------------------------------------------------------------------


def bench_floor(client: Any, n: int) -> dict[str, Any]:
    from telemetry.store import run_script

    out: dict[str, Any] = {}
    calls: dict[str, Callable[[], Any]] = {
        "ping": client.ping,
        "evalsha_noop": lambda: run_script(client, _NOOP_LUA, [], []),
    }
    for name, call in calls.items():
        for _ in range(max(100, n // 20)):
            call()
        durations: list[float] = []
        trips: Counter[int] = Counter()
        with Wire(client) as wire:
            for _ in range(n):
                before = wire.sends
                t0 = time.perf_counter_ns()
                call()
                durations.append((time.perf_counter_ns() - t0) / 1000)
                trips[wire.sends - before] += 1
        out[name] = {**summary(durations, "us"), "round_trips": dict(trips)}
        log(f"floor {name}: p50 {out[name]['p50_us']:.1f} µs")
    return out


# --- events --------------------------------------------------------------------------------


def attempt_kwargs(i: int) -> dict[str, Any]:
    from django.utils import timezone

    failed = i % 20 == 19  # 5 % failed provider calls
    tokens_in = 0 if failed else 200 + i % 800
    tokens_out = 0 if failed else 50 + (i * 7) % 1500
    cost = Decimal("0.000002") * tokens_in + Decimal("0.000006") * tokens_out
    return {
        "provider_id": "sandbox",
        "operation_type": "dialogue",
        "succeeded": not failed,
        "error_code": ERROR_CODES[i % 3] if failed else "",
        "error_message": "provider call failed: upstream timed out after 30 s" if failed else "",
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost,
        "at": timezone.now(),
    }


def terminal_kwargs(i: int) -> dict[str, Any]:
    from django.utils import timezone

    if i % 50 == 49:
        status, latency = "cancelled", None  # 2 %: cancelled before running, no sample
    elif i % 20 == 19:
        status, latency = "failed", 300 + (i * 7919) % 4000  # 5 %
    else:
        status, latency = "completed", 300 + (i * 7919) % 4000
    return {
        "generation_id": str(uuid.uuid4()),
        "provider_id": "sandbox",
        "operation_type": "dialogue",
        "status": status,
        "latency_ms": latency,
        "at": timezone.now(),
    }


def decompose(
    record: Callable[..., bool],
    make_kwargs: Callable[[int], dict[str, Any]],
    client: Any,
    sent: list[tuple[Any, ...]],
    offset: int,
) -> tuple[dict[str, float], dict[str, float]]:
    """Split an event's cost: the same recording call with ``run_script`` replaced by a
    no-op (Python: keys and arguments), and ``run_script`` alone replaying ``EVALSHA``
    calls the measured loop sent (the Redis round trip and the script). Replayed calls
    count their increments a second time: only the timing matters here."""
    from telemetry import recording
    from telemetry.store import run_script
    from telemetry.store import script_sha as _sha

    build: list[float] = []
    real = recording.run_script
    recording.run_script = lambda *args, **kwargs: 1  # type: ignore[assignment]
    try:
        for i in range(offset, offset + len(sent)):
            kwargs = make_kwargs(i)
            t0 = time.perf_counter_ns()
            record(**kwargs)
            build.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        recording.run_script = real  # type: ignore[assignment]
    scripts = {_sha(script): script for script in (recording.ATTEMPT_LUA, recording.TERMINAL_LUA)}
    replays = [
        (scripts[str(args[1])], list(args[3 : 3 + int(args[2])]), list(args[3 + int(args[2]) :]))
        for args in sent
    ]
    call: list[float] = []
    for script, event_keys, argv in replays:
        t0 = time.perf_counter_ns()
        run_script(client, script, event_keys, argv)
        call.append((time.perf_counter_ns() - t0) / 1000)
    return summary(build, "us"), summary(call, "us")


def bench_event(
    kind: str,
    record: Callable[..., bool],
    make_kwargs: Callable[[int], dict[str, Any]],
    client: Any,
    raw: Any,
    n: int,
) -> dict[str, Any]:
    from telemetry.store import FAILURES

    for i in range(max(200, n // 50)):  # warm-up: connection, script cache, allocator
        record(**make_kwargs(i))
    failures_before = FAILURES["count"]
    kept: list[tuple[Any, ...]] = []
    durations: list[float] = [0.0] * n
    trips: Counter[int] = Counter()
    commands: Counter[int] = Counter()
    refused = 0
    model = ServerCommandModel(raw)
    stats_before = commandstats(raw)
    with Wire(client, keep=kept) as wire:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(n):
            kwargs = make_kwargs(i)  # argument building (incl. timezone.now()) is not timed
            sends, cmds = wire.sends, wire.commands
            t0 = time.perf_counter_ns()
            ok = record(**kwargs)
            durations[i] = (time.perf_counter_ns() - t0) / 1000
            trips[wire.sends - sends] += 1
            commands[wire.commands - cmds] += 1
            refused += not ok
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    delta = commandstats_delta(stats_before, commandstats(raw))
    sent = [args for args in kept if str(args[0]).upper() == "EVALSHA"]
    del kept
    expected = sum(model.count(args) for args in sent)
    argument_bytes = [sum(len(str(a).encode()) for a in args[3:]) for args in sent]
    build, call = decompose(record, make_kwargs, client, sent[:DECOMPOSE_N], n)
    observed = sum(v["calls"] for v in delta.values())
    script = delta.get("evalsha", {"calls": 0.0, "usec": 0.0})
    result: dict[str, Any] = {
        "n": n,
        "latency": summary(durations, "us"),
        "round_trips": dict(trips),
        "client_commands": dict(commands),
        "round_trips_per_event": sum(k * v for k, v in trips.items()) / n,
        "client_commands_per_event": sum(k * v for k, v in commands.items()) / n,
        "server_commands_per_event": observed / n,
        "server_commands_expected_per_event": expected / n,
        "server_commands_foreign": observed - expected,
        "server_commands_by_name": {
            k: v["calls"] / n for k, v in sorted(delta.items()) if k in RECORD_COMMANDS
        },
        "server_commands_other_names": sum(
            v["calls"] for k, v in delta.items() if k not in RECORD_COMMANDS
        ),
        "server_script_us_per_event": script["usec"] / script["calls"] if script["calls"] else None,
        "argument_bytes_mean": sum(argument_bytes) / max(len(argument_bytes), 1),
        "build_only": build,
        "redis_call_only": call,
        "client_cpu_us_per_event": 1e6 * cpu / n,
        "wall_s": wall,
        "refused": refused,
        "telemetry_failures": FAILURES["count"] - failures_before,
    }
    lat = result["latency"]
    log(
        f"{kind}: {n} events, p50 {lat['p50_us']:.1f} µs, mean {lat['mean_us']:.1f} µs, "
        f"round trips {result['round_trips']}, server commands/event "
        f"{result['server_commands_per_event']:.2f} (expected "
        f"{result['server_commands_expected_per_event']:.2f})"
    )
    return result


# --- percentile reads ----------------------------------------------------------------------


def size_label(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suffix}"
    return str(n)


def fill_aggregates(raw: Any, ident: str, now: Any) -> None:
    """Counters, the 84 minute/hour buckets and 5 error types of ``ident``, so the full
    read parses real hashes like a busy provider's."""
    from telemetry import keys

    scope = "provider"
    fields = {
        "total": 1000,
        "completed": 940,
        "failed": 50,
        "cancelled": 10,
        "attempts": 1100,
        "attempt_failures": 150,
        "tokens_in": 500_000,
        "tokens_out": 900_000,
        "cost_usd": "6.400000",
    }
    pipe = raw.pipeline(transaction=False)
    pipe.hset(keys.counters(scope, ident), mapping={**fields, "consecutive_failures": 0})
    for key in keys.minute_buckets(scope, ident, now) + keys.hour_buckets(scope, ident, now):
        pipe.hset(key, mapping=fields)
        pipe.expire(key, keys.HOUR_TTL_S)
    for j, code in enumerate((*ERROR_CODES, "invalid_response", "auth")):
        key = keys.error(scope, ident, code)
        pipe.hset(
            key,
            mapping={
                "count": 10 + j,
                "last_error": f"{code}: provider said no",
                "last_seen": now.isoformat(),
            },
        )
        pipe.expire(key, keys.ERROR_TTL_S)
        pipe.zadd(keys.error_index(scope, ident), {code: now.timestamp() - j})
    pipe.execute()


def fill_latencies(raw: Any, lat_key: str, at_key: str, n: int, now_s: int) -> float:
    started = time.perf_counter()
    sha = raw.script_load(_FILL_LUA)
    # One call at a time, not pipelined: Redis runs a client's buffered commands back to
    # back, and other users of the server must not wait on more than one chunk.
    for first in range(0, n, FILL_CHUNK):
        raw.evalsha(sha, 2, lat_key, at_key, first, min(FILL_CHUNK, n - first), now_s, SPAN_S)
    return time.perf_counter() - started


def bench_read(client: Any, raw: Any, n: int, reps: int) -> tuple[dict[str, Any], list[str]]:
    from django.utils import timezone

    from generations.figures import telemetry_stats
    from telemetry import keys
    from telemetry.aggregates import _PERCENTILE_LUA, TOP_ERRORS
    from telemetry.percentiles import PERCENTILES, percentile
    from telemetry.store import run_script

    problems: list[str] = []
    ident = f"bench{size_label(n)}"
    lat_key, at_key = keys.latencies("provider", ident), keys.latency_times("provider", ident)
    now = timezone.now()
    fill_aggregates(raw, ident, now)
    fill_s = fill_latencies(raw, lat_key, at_key, n, int(now.timestamp()))
    cards = (int(raw.zcard(lat_key)), int(raw.zcard(at_key)))
    if cards != (n, n):
        problems.append(f"{ident}: filled {cards} members, expected {n} in both sets")
    values = sorted(fill_value(i) for i in range(n))
    expected: dict[int, float | None] = {}
    for p in PERCENTILES:
        value = percentile(values, p)
        expected[p] = None if value is None else float(value)
    del values
    log(f"{ident}: filled {n} samples in {fill_s:.1f} s, expected {expected}")

    def full_read() -> Any:
        return telemetry_stats(scope="provider", ident=ident)

    def script_read() -> Any:
        cutoff = (timezone.now() - keys.LATENCY_WINDOW).timestamp()
        return run_script(client, _PERCENTILE_LUA, [lat_key, at_key], [cutoff, *PERCENTILES])

    def buckets_read() -> Any:
        """The first pipeline of ``_from_redis`` alone: counters, 60 minute and 24 hour
        buckets, error index."""
        at = timezone.now()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(keys.counters("provider", ident))
        for key in keys.minute_buckets("provider", ident, at) + keys.hour_buckets(
            "provider", ident, at
        ):
            pipe.hgetall(key)
        pipe.zrevrange(keys.error_index("provider", ident), 0, TOP_ERRORS - 1)
        return pipe.execute()

    for _ in range(3):
        full_read()
        script_read()
        buckets_read()
    # The three measurements interleaved, so a noisy moment of the machine hits them alike.
    full_ms: list[float] = []
    script_ms: list[float] = []
    buckets_ms: list[float] = []
    trips: Counter[int] = Counter()
    bad_full: list[str] = []
    bad_script: list[str] = []
    stats_before = commandstats(raw)
    with Wire(client) as wire:
        for _ in range(reps):
            before = wire.sends
            t0 = time.perf_counter_ns()
            stats = full_read()
            full_ms.append((time.perf_counter_ns() - t0) / 1e6)
            trips[wire.sends - before] += 1
            got = {p: stats.percentiles.get(p) for p in PERCENTILES}
            if stats.source != "redis" or stats.samples != n or got != expected:
                bad_full.append(f"source={stats.source} samples={stats.samples} {got}")

            t0 = time.perf_counter_ns()
            reply = script_read()
            script_ms.append((time.perf_counter_ns() - t0) / 1e6)
            answer = [int(reply[0]), *(None if v in (None, "") else float(v) for v in reply[1:])]
            if answer != [n, *expected.values()]:
                bad_script.append(str(answer))

            t0 = time.perf_counter_ns()
            buckets_read()
            buckets_ms.append((time.perf_counter_ns() - t0) / 1e6)
    delta = commandstats_delta(stats_before, commandstats(raw))
    script = delta.get("evalsha", {"calls": 0.0, "usec": 0.0})
    hgetall = delta.get("hgetall", {"calls": 0.0, "usec": 0.0})
    if bad_full:
        problems.append(f"{ident}: {len(bad_full)} full reads wrong, e.g. {bad_full[0]}")
    if bad_script:
        problems.append(f"{ident}: {len(bad_script)} script reads wrong, e.g. {bad_script[0]}")
    raw.unlink(lat_key, at_key)
    result: dict[str, Any] = {
        "ident": ident,
        "samples": n,
        "fill_s": fill_s,
        "expected": {str(p): v for p, v in expected.items()},
        "verified": not (bad_full or bad_script or cards != (n, n)),
        "full_read": {**summary(full_ms, "ms"), "round_trips": dict(trips)},
        "script": summary(script_ms, "ms"),
        "buckets_pipeline": summary(buckets_ms, "ms"),
        "script_server_us": script["usec"] / script["calls"] if script["calls"] else None,
        # Redis's own time for the pipeline's 85 HGETALL (counters + 84 buckets).
        "buckets_pipeline_server_us": (
            85 * hgetall["usec"] / hgetall["calls"] if hgetall["calls"] else None
        ),
    }
    log(
        f"{ident}: full read p50 {result['full_read']['p50_ms']:.2f} ms, script p50 "
        f"{result['script']['p50_ms']:.3f} ms, buckets pipeline p50 "
        f"{result['buckets_pipeline']['p50_ms']:.2f} ms, verified {result['verified']}"
    )
    return result, problems


# --- targets -------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    events = results["events"]
    out: list[dict[str, Any]] = []
    exact = all(e["round_trips"] == {1: e["n"]} for e in events.values())
    out.append(
        {
            "target": "one Redis round trip per event",
            "rule": "every measured event of both kinds sent exactly 1 request to Redis "
            "(client-side count)",
            "measured": "; ".join(
                f"{kind}: "
                + ", ".join(f"{v} event(s) with {k}" for k, v in e["round_trips"].items())
                for kind, e in events.items()
            ),
            "pass": exact,
        }
    )
    p50s = {kind: e["latency"]["p50_us"] for kind, e in events.items()}
    out.append(
        {
            "target": "< 0.5 ms per event",
            "rule": "p50 of each event kind < 500 µs",
            "measured": "; ".join(
                f"{kind}: p50 {e['latency']['p50_us']:.0f} µs, mean "
                f"{e['latency']['mean_us']:.0f} µs, p95 {e['latency'].get('p95_us', 0):.0f} µs"
                for kind, e in events.items()
            ),
            "pass": all(v < TARGET_EVENT_US for v in p50s.values()),
        }
    )
    big = results["percentiles"].get(str(TARGET_READ_SAMPLES))
    out.append(
        {
            "target": "percentile read < 5 ms at 1M samples",
            "rule": "p50 of the full read (`telemetry_stats`) at 1,000,000 samples < 5 ms, "
            "figures verified",
            "measured": (
                f"full read p50 {big['full_read']['p50_ms']:.2f} ms (p95 "
                f"{big['full_read'].get('p95_ms', 0):.2f} ms); percentile script alone p50 "
                f"{big['script']['p50_ms']:.3f} ms; verified: {big['verified']}"
                if big
                else "not measured (1,000,000 not in --sizes)"
            ),
            "pass": None
            if not big
            else big["verified"] and big["full_read"]["p50_ms"] < TARGET_READ_MS,
        }
    )
    return out


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events of each kind")
    parser.add_argument("--reps", type=int, default=50, help="timed reads per size and kind")
    parser.add_argument("--ping", type=int, default=5000, help="timed PINGs (floor)")
    parser.add_argument(
        "--sizes", default="1000,100000,1000000", help="comma list of latency sample counts"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        help="Redis database of this benchmark, flushed at start and end (default: "
        f"$REDIS_URL, else {DEFAULT_REDIS_URL})",
    )
    args = parser.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from redis.utils import HIREDIS_AVAILABLE

    from telemetry.recording import telemetry_record_attempt, telemetry_record_terminal
    from telemetry.store import telemetry_client

    wall = time.perf_counter()
    client = telemetry_client()
    if client is None:
        raise SystemExit("REDIS_URL is not configured")
    raw = redis.Redis.from_url(args.redis_url, socket_timeout=30)
    raw.flushdb()
    info = raw.info("server")
    results: dict[str, Any] = {
        "config": {
            "redis_url": args.redis_url,
            "events": args.events,
            "reps": args.reps,
            "ping": args.ping,
            "sizes": args.size_list,
            "decompose_n": min(DECOMPOSE_N, args.events),
            "settings": os.environ["DJANGO_SETTINGS_MODULE"],
            "socket_timeout_s": float(settings.REDIS_SOCKET_TIMEOUT),
            "reply_parser": "hiredis" if HIREDIS_AVAILABLE else "pure-Python",
        },
        "redis_version": info.get("redis_version"),
        "errors": [],
    }
    try:
        results["floor"] = bench_floor(client, args.ping)
        results["events"] = {
            "attempt": bench_event(
                "attempt", telemetry_record_attempt, attempt_kwargs, client, raw, args.events
            ),
            "terminal": bench_event(
                "terminal", telemetry_record_terminal, terminal_kwargs, client, raw, args.events
            ),
        }
        for kind, event in results["events"].items():
            if event["refused"] or event["telemetry_failures"]:
                results["errors"].append(
                    f"{kind}: Redis refused {event['refused']} events "
                    f"({event['telemetry_failures']} telemetry failures logged)"
                )
        results["percentiles"] = {}
        for n in args.size_list:
            read, problems = bench_read(client, raw, n, args.reps)
            results["percentiles"][str(n)] = read
            results["errors"] += problems
        results["targets"] = targets(results)
    finally:
        raw.flushdb(asynchronous=True)  # frees the large sets without blocking Redis
    results["ok"] = not results["errors"]
    results["wall_s"] = time.perf_counter() - wall
    print(json.dumps(results, default=str))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
