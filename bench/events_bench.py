"""Event streams benchmark: transition → client latency over SSE and WebSocket, fan-out to
many subscribers on one ASGI process, and the create path with the wake-up on and off.

    .venv/bin/python bench/events_bench.py [--database-url URL] [--redis-url URL]
        [--subscribers 1000] [--transitions 200] [--creates 400] [--markdown]

Starts ONE uvicorn process on ``genpipe_site.asgi:application`` (the product settings) on
the given PostgreSQL database and Redis; this process is the load generator: it opens the
subscriptions (asyncio: raw-socket SSE clients parsing the stream themselves, and the
``websockets`` client) and makes the transitions itself through
``generations.services.lifecycle.generation_transition`` (the sandbox provider, zero
latency, is never called: no worker). Latency of one event at one client = the client's
receipt time minus the time just before the transition call began (same machine clock):
the transaction, the commit, the PUBLISH, the feed's read, the fan-out and the send.
Transitions are spaced (``--gap-ms``) so latency, not throughput, is measured.

Prints one JSON document; ``--markdown`` also rewrites the "Event streams" section of
bench/RESULTS.md (between its markers). ``bench/run.py --scenarios events`` runs it too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the repository
    sys.path.insert(0, str(ROOT))

from bench.sections import section_replace  # noqa: E402

RESULTS = BENCH_DIR / "RESULTS.md"
BEGIN, END = "<!-- events-bench:begin -->", "<!-- events-bench:end -->"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/genpipe_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"
WARMUP_TRANSITIONS = 6
SSE_ID = re.compile(rb"(?m)^id: (\d+)$")
WS_ID = re.compile(r'^\{"event_id":(\d+),')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--transitions", type=int, default=200, help="per latency scenario")
    parser.add_argument("--fanout-transitions", type=int, default=40)
    parser.add_argument("--gap-ms", type=float, default=25.0, help="between transitions")
    parser.add_argument(
        "--fanout-gap-ms", type=float, default=250.0, help="between transitions, fan-out"
    )
    parser.add_argument("--creates", type=int, default=400, help="per on/off round")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenarios (sse_1,ws_1,sse_fanout,ws_fanout); no create path "
        "(a quick look, not for --markdown)",
    )
    parser.add_argument("--markdown", action="store_true", help="rewrite RESULTS.md section")
    parser.add_argument("--json-out", default="", help="also write the JSON here")
    parser.add_argument(
        "--render", default="", help="only rewrite the RESULTS.md section from this JSON file"
    )
    return parser.parse_args(argv)


def pct(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def setup(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "genpipe_site.settings",
        "DJANGO_DEBUG": "0",
        "GENPIPE_STREAM_HEARTBEAT_S": "60",
        "GENPIPE_STREAM_QUEUE_MAX": "10000",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")})
    os.environ.update(DJANGO_SETTINGS_MODULE="genpipe_site.settings", DJANGO_DEBUG="0")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return env


def fixtures() -> tuple[Any, str]:
    from rest_framework.authtoken.models import Token

    from generations.models import Provider, Workspace
    from generations.services import creation
    from generations.services.accounts import api_token_create

    creation.generation_enqueue = lambda **_: None  # type: ignore[assignment]  # no worker
    Provider.objects.filter(id="sandbox").update(
        enabled=True, settings={"latency_ms": 0, "failure_rate": 0.0}
    )
    slug = f"bench-events-{uuid.uuid4().hex[:8]}"
    key = api_token_create(username=slug, workspace_slug=slug, create_workspace=True)
    assert Token.objects.filter(key=key).exists()
    return Workspace.objects.get(slug=slug), key


def create_one(workspace: Any, label: str) -> str:
    from generations.services import creation

    data = {
        "provider_id": "sandbox",
        "config": {
            "generation_type": "text_to_image",
            "purpose": "adaptive",
            "strategy": "once",
            "fallback": {"mode": "skip"},
            "prompt": f"{label} {uuid.uuid4().hex}",
        },
    }
    outcome = creation.generation_create(workspace=workspace, user=None, data=data)
    return str(outcome.generation.id)


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "genpipe_site.asgi:application"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    cmd += ["--no-access-log", "--timeout-graceful-shutdown", "2", "--backlog", "4096"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("uvicorn did not start")


# What an interrupted run is given to stop its server (``stop_server`` waits up to 20 s).
INTERRUPT_GRACE_S = 30.0


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class Receipts:
    """Receipt times per event id, over every client."""

    def __init__(self) -> None:
        self.at: dict[int, list[float]] = {}
        self.duplicates = 0
        self.seen: dict[int, set[int]] = {}

    def record(self, client: int, event_id: int) -> None:
        now = time.time()
        seen = self.seen.setdefault(client, set())
        if event_id in seen:
            self.duplicates += 1
            return
        seen.add(event_id)
        self.at.setdefault(event_id, []).append(now)


async def sse_client(
    port: int, token: str, slug: str, client: int, receipts: Receipts, ready: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    writer.write(
        (
            f"GET /api/v1/generations/events?workspace={slug} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    # Cheap on purpose (the client shares the CPUs with the server): whole chunks, the
    # ids found by a regex; an id line cut by a chunk boundary is joined with the next.
    tail = b""
    try:
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                return
            data = tail + chunk
            if not ready.is_set() and b"retry:" in data:
                ready.set()
            last = data.rfind(b"\n")
            complete, tail = data[: last + 1], data[last + 1 :]
            for match in SSE_ID.finditer(complete):
                receipts.record(client, int(match.group(1)))
    finally:
        writer.close()


async def ws_client(
    port: int, token: str, slug: str, client: int, receipts: Receipts, ready: asyncio.Event
) -> None:
    import websockets

    url = f"ws://127.0.0.1:{port}/ws/v1/generations?token={token}"
    connecting = websockets.connect(url, max_queue=None, compression=None, open_timeout=120)
    async with connecting as ws:
        await ws.send(json.dumps({"type": "subscribe", "workspace_id": slug}))
        async for text in ws:
            found = WS_ID.match(text)  # the event object's first key (no full JSON parse)
            if found:
                receipts.record(client, int(found.group(1)))
            elif json.loads(text).get("type") == "subscribed":
                ready.set()


async def transitions(
    workspace: Any, count: int, gap_s: float
) -> tuple[dict[int, float], dict[int, float]]:
    """Create generations and move them pending → processing → completed; by the event
    id each transition wrote, when the call began and when it returned (committed)."""
    from asgiref.sync import sync_to_async

    from generations.models import GenerationEvent, Status
    from generations.services.lifecycle import generation_transition

    started: dict[int, float] = {}
    committed: dict[int, float] = {}

    def one(generation_id: str, status: str) -> tuple[int, float, float]:
        before = time.time()
        generation_transition(generation_id=generation_id, to_status=status)
        after = time.time()  # committed, and the wake-up published (after commit)
        event = GenerationEvent.objects.filter(generation_id=generation_id, to_status=status)
        return int(event.values_list("id", flat=True).get()), before, after

    make = sync_to_async(create_one, thread_sensitive=True)
    step = sync_to_async(one, thread_sensitive=True)
    generation_id = ""
    for index in range(count):
        if index % 2 == 0:
            generation_id = await make(workspace, "bench-events")
            event_id, before, after = await step(generation_id, Status.PROCESSING)
        else:
            event_id, before, after = await step(generation_id, Status.COMPLETED)
        started[event_id], committed[event_id] = before, after
        await asyncio.sleep(gap_s)
    return started, committed


async def latency_run(
    kind: str,
    port: int,
    token: str,
    workspace: Any,
    clients: int,
    count: int,
    gap_s: float,
    server_pid: int,
) -> dict[str, Any]:
    receipts = Receipts()
    before_rss = rss_kib(server_pid)
    readies = [asyncio.Event() for _ in range(clients)]
    factory = sse_client if kind == "sse" else ws_client
    tasks = []
    connect_started = time.monotonic()
    for index in range(clients):
        client = factory(port, token, workspace.slug, index, receipts, readies[index])
        tasks.append(asyncio.create_task(client))
        if index % 25 == 24:  # a connect storm is not what is measured here
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies[: index + 1])), 120)
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 300)
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} clients failed: {failed[0].exception()!r}")
    connect_s = time.monotonic() - connect_started
    await asyncio.sleep(1.0)
    held_rss = rss_kib(server_pid)  # every client connected and subscribed
    await transitions(workspace, WARMUP_TRANSITIONS, gap_s)  # first-use costs: not counted
    started, committed = await transitions(workspace, count, gap_s)
    expected = clients * len(started)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = sum(1 for i, times in receipts.at.items() if i in started for _ in times)
        if got >= expected:
            break
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [
        at - started[event_id]
        for event_id, times in receipts.at.items()
        if event_id in started
        for at in times
    ]
    after_commit = [
        at - committed[event_id]
        for event_id, times in receipts.at.items()
        if event_id in committed
        for at in times
    ]
    calls = [committed[i] - started[i] for i in started]
    return {
        "kind": kind,
        "clients": clients,
        "transitions": len(started),
        "received": len(latencies),
        "expected": expected,
        "duplicates": receipts.duplicates,
        "latency": pct(latencies),
        "after_commit": pct(after_commit),
        "transition_call": pct(calls),
        "connect_s": round(connect_s, 2),
        "server_rss_mib_before": round(before_rss / 1024, 1),
        "server_rss_mib_held": round(held_rss / 1024, 1),
        "rss_kib_per_connection": round((held_rss - before_rss) / max(1, clients), 1),
    }


def create_cost(workspace: Any, creates: int) -> dict[str, Any]:
    """generation_create with the wake-up listener in and out of the listener list,
    alternating rounds (off, on, off, on) to spread the machine's drift over both."""
    from django.conf import settings

    from generations.hooks import _load

    full = list(settings.GENPIPE_TRANSITION_LISTENERS)
    without = [p for p in full if p != "streams.wakeup.transition_wakeup"]
    times: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(2):
        for label, listeners in (("off", without), ("on", full)):
            settings.GENPIPE_TRANSITION_LISTENERS = listeners
            _load.cache_clear()
            for _ in range(creates // 2):
                begun = time.perf_counter()
                create_one(workspace, f"cost-{label}")
                times[label].append(time.perf_counter() - begun)
    settings.GENPIPE_TRANSITION_LISTENERS = full
    _load.cache_clear()
    off, on = times["off"], times["on"]
    mean_off, mean_on = statistics.mean(off), statistics.mean(on)
    return {
        "creates_each": len(off),
        "off": {**pct(off), "mean_ms": round(mean_off * 1000, 3)},
        "on": {**pct(on), "mean_ms": round(mean_on * 1000, 3)},
        "mean_delta_pct": round((mean_on / mean_off - 1) * 100, 2),
        "p50_delta_pct": round((statistics.median(on) / statistics.median(off) - 1) * 100, 2),
    }


def publish_round_trip(redis_url: str, count: int = 2000) -> dict[str, Any]:
    """One PUBLISH alone, as the listener sends it (the floor of the wake-up's cost)."""
    from core.outages import redis_client

    client = redis_client(redis_url, timeout=0.25)
    client.ping()
    times = []
    for index in range(count):
        begun = time.perf_counter()
        client.publish("genpipe:events:bench-floor", str(index))
        times.append(time.perf_counter() - begun)
    return pct(times)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        section_replace(RESULTS, BEGIN, END, render(json.loads(Path(args.render).read_text())))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    env = setup(args)
    workspace, token = fixtures()
    result: dict[str, Any] = {
        "config": {
            "subscribers": args.subscribers,
            "transitions": args.transitions,
            "fanout_transitions": args.fanout_transitions,
            "gap_ms": args.gap_ms,
            "fanout_gap_ms": args.fanout_gap_ms,
            "creates": args.creates,
            "cpus": os.cpu_count(),
            "load_avg_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        }
    }
    gap = args.gap_ms / 1000
    try:
        fan_gap = args.fanout_gap_ms / 1000
        runs = [
            ("sse_1", "sse", 1, args.transitions, gap),
            ("ws_1", "ws", 1, args.transitions, gap),
            ("sse_fanout", "sse", args.subscribers, args.fanout_transitions, fan_gap),
            ("ws_fanout", "ws", args.subscribers, args.fanout_transitions, fan_gap),
        ]
        if args.only:
            by_name = {run[0]: run for run in runs}
            runs = [by_name[name] for name in args.only.split(",")]
        for name, kind, clients, count, spacing in runs:
            print(f"events bench: {name} ({clients} clients, {count} transitions)...", flush=True)
            # A fresh server per scenario: its memory before/after is this scenario's own.
            server, port = start_server(env)
            try:
                result[name] = asyncio.run(
                    latency_run(kind, port, token, workspace, clients, count, spacing, server.pid)
                )
            finally:
                stop_server(server)
            print(json.dumps(result[name]), flush=True)
        if args.only:
            print(json.dumps({n: result[n]["after_commit"] for n, *_ in runs}), flush=True)
            return 0
        print("events bench: create path, wake-up off vs on...", flush=True)
        result["create_cost"] = create_cost(workspace, args.creates)
        result["publish_floor"] = publish_round_trip(args.redis_url)
    finally:
        workspace.delete()
    result["config"]["load_avg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    result["targets"] = {
        "p99_under_50ms_with_redis": all(
            result[n]["after_commit"].get("p99_ms", 1e9) < 50 for n in ("sse_1", "ws_1")
        ),
        "fanout_p99_under_50ms": all(
            result[n]["after_commit"].get("p99_ms", 1e9) < 50 for n in ("sse_fanout", "ws_fanout")
        ),
        "fanout_1000_held": all(
            result[n]["received"] == result[n]["expected"] and result[n]["duplicates"] == 0
            for n in ("sse_fanout", "ws_fanout")
        )
        and args.subscribers >= 1000,
        "create_within_5pct": result["create_cost"]["mean_delta_pct"] < 5,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text)
    if args.markdown:
        section_replace(RESULTS, BEGIN, END, render(result))
    return 0


def run_interruptibly(command: list[str], log: IO[str], *, timeout_s: float) -> int:
    """Run ``command`` (this script) to its end and return its exit status. Interrupted
    (Ctrl-C, or ``run.py`` stopped by a signal) or out of time, it is first interrupted
    in turn (``SIGINT``) and given ``INTERRUPT_GRACE_S`` to stop the server it started in
    a session of its own, which a kill would leave running; only then killed."""
    child = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    try:
        return child.wait(timeout=timeout_s)
    except BaseException:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=INTERRUPT_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise


def run_from_harness(database_url: str, redis_url: str) -> dict[str, Any]:
    """For ``bench/run.py --scenarios events``: this script in its own process (it sets
    Django up on its own settings); its JSON document, or ``{"error": ...}``."""
    out_dir = BENCH_DIR / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_json, out_log = out_dir / "events.json", out_dir / "events.log"
    out_json.unlink(missing_ok=True)
    print(f"events benchmark (log: {out_log.relative_to(ROOT)})...", flush=True)
    command = [
        sys.executable,
        str(Path(__file__)),
        *("--database-url", database_url, "--redis-url", redis_url, "--json-out", str(out_json)),
    ]
    with out_log.open("w") as log:
        run_interruptibly(command, log, timeout_s=1800)
    try:
        return dict(json.loads(out_json.read_text()))
    except (OSError, ValueError):
        return {"error": f"events_bench.py gave no result, see {out_log.relative_to(ROOT)}"}


def render(result: dict[str, Any]) -> list[str]:
    """The "Event streams" section of RESULTS.md (between its markers)."""
    if "error" in result:
        return ["", BEGIN, "## Event streams", "", result["error"], END, ""]
    cfg = result["config"]
    lines = [
        BEGIN,
        "## Event streams",
        "",
        "`bench/events_bench.py`: one uvicorn process (`genpipe_site.asgi:application`, "
        "product settings, PostgreSQL + Redis wake-ups); the load generator (asyncio "
        "clients) and the transitions run in the benchmark process on the same "
        f"{cfg['cpus']}-core machine (load average at start: {cfg['load_avg_start']}). "
        "**After commit** = client receipt minus the moment `generation_transition` returned "
        "(committed, wake-up published): the feed's one read, the fan-out and the send. "
        "**From the call** adds the transition itself (its transaction on the shared "
        "PostgreSQL; its own p50 is in the last column). Transitions spaced "
        f"{cfg['gap_ms']:g} ms apart ({cfg['fanout_gap_ms']:g} ms in the fan-out runs: "
        "latency under fan-out, not the throughput ceiling), after "
        f"{WARMUP_TRANSITIONS} uncounted warm-up transitions on each fresh server.",
        "",
        "| scenario | clients | events x clients received | duplicates | after commit p50 / "
        "p99 / max ms | from the call p50 / p99 ms | server RSS held | per connection "
        "| transition call p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("sse_1", "ws_1", "sse_fanout", "ws_fanout"):
        run = result.get(name)
        if not run:
            continue
        lat, commit = run["latency"], run["after_commit"]
        lines.append(
            f"| `{name}` | {run['clients']} | {run['received']} / {run['expected']} | "
            f"{run['duplicates']} | {commit.get('p50_ms')} / {commit.get('p99_ms')} / "
            f"{commit.get('max_ms')} | {lat.get('p50_ms')} / {lat.get('p99_ms')} | "
            f"{run['server_rss_mib_held']} MiB | {per_connection(run)} | "
            f"{run['transition_call'].get('p50_ms')} |"
        )
    cost = result.get("create_cost")
    if cost:
        lines += [
            "",
            f"Create path (`generation_create`, in process, {cost['creates_each']} creates "
            "each, rounds alternated off/on/off/on), the wake-up listener out vs in: "
            f"mean {cost['off']['mean_ms']} → {cost['on']['mean_ms']} ms "
            f"(**{cost['mean_delta_pct']:+.1f} %**), p50 {cost['off']['p50_ms']} → "
            f"{cost['on']['p50_ms']} ms ({cost['p50_delta_pct']:+.1f} %), p99 "
            f"{cost['off']['p99_ms']} → {cost['on']['p99_ms']} ms. One PUBLISH alone: "
            f"p50 {result['publish_floor']['p50_ms']} ms, p99 "
            f"{result['publish_floor']['p99_ms']} ms.",
        ]
    lines += [
        "",
        "Reading the fan-out rows: one transition is one read and one pass over the "
        "subscriptions, then one write per client; the last of 1,000 clients gets the "
        "event after 999 others, so p99 is about the time to write 1,000 messages, here "
        "on 2 shared cores that also run the 1,000 clients (and, on the machine the "
        f"figures come from, other work: load average {cfg.get('load_avg_end', '?')} at "
        "the end).",
    ]
    targets = result.get("targets", {})
    verdict = {True: "**PASS**", False: "**FAIL**"}
    lines += [
        "",
        "- transition → client p99 < 50 ms with Redis (after commit, one client, SSE and "
        f"WebSocket): {verdict[targets.get('p99_under_50ms_with_redis', False)]}",
        f"- the same under fan-out to {cfg['subscribers']} subscribers: "
        f"{verdict[targets.get('fanout_p99_under_50ms', False)]}",
        f"- {cfg['subscribers']} subscribers held by one process, every event delivered "
        f"once to each: {verdict[targets.get('fanout_1000_held', False)]}",
        f"- create path within 5 % with the publish on: "
        f"{verdict[targets.get('create_within_5pct', False)]}",
        END,
        "",
    ]
    return lines


def per_connection(run: dict[str, Any]) -> str:
    """Server memory per connection, meaningful only over many connections (one client
    also pays the feed's start and the first imports)."""
    if run["clients"] < 100:
        return "—"
    return f"{run['rss_kib_per_connection']} KiB"


if __name__ == "__main__":
    sys.exit(main())
