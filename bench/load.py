"""Closed-loop HTTP load generator for the genpipe benchmark.

Design (chosen for stable numbers on a small, co-located box):

* ``procs`` spawned client processes, each running ``concurrency / procs`` threads; every
  thread owns one keep-alive ``http.client.HTTPConnection`` and issues its next request as
  soon as the previous one finished (closed loop: offered load = ``concurrency``).
* ``http.client`` rather than ``requests``: it costs 3-4 times less client CPU per request
  (measured), and on a 2-core machine every millisecond the client burns is taken from
  the server under test. Threads suffice because a client thread spends almost all of its
  time blocked on the socket; extra processes only matter when the client itself becomes
  GIL-bound (hundreds of thousands of requests/s, far above this service).
* All clients start together; the first ``warmup_s`` seconds are discarded and a request
  is measured when it *completes* inside the ``duration_s`` window. Errors are counted over
  the whole run, warm-up included, so nothing is hidden.

``run_scenario`` is the library entry point used by ``bench/run.py``; ``python
bench/load.py --port ... --token ... --scenario noop`` drives an already running server.
The ``list`` op first fetches its page once (``list_prepare``, the reference every
measured response must equal), then requests it in the closed loop.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import multiprocessing as mp
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.builders import create_body  # noqa: E402  (needs ROOT on sys.path)

CREATE_PATH = "/api/v1/generations"
OPS = (
    "noop",
    "insert",
    "create_cold",
    "create_cache_hit",
    "post_to_completed",
    "post_to_completed_wait",
    "list",
)
# ``Prefer: wait`` of the post_to_completed_wait op (RFC 7240; served by the ASGI app only)
PREFER_WAIT_S = 30
# list query parameter -> the result field every result of the page must equal
LIST_FILTER_FIELDS = {
    "status": "status",
    "provider": "provider_id",
    "operation_type": "operation_type",
}
MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    token: str


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    op: str
    concurrency: int
    procs: int
    duration_s: float
    warmup_s: float
    poll_interval_s: float = 0.005
    completion_timeout_s: float = 30.0
    # op-specific: "workspace_id" (insert), "body" (create_cache_hit), "query" and
    # "follow_next" (list; list_prepare adds "path", "limit", "expect" and "ids")
    params: dict[str, Any] = field(default_factory=dict)


class Sample(NamedTuple):
    start: float  # time.monotonic(), comparable across processes on Linux
    end: float
    ok: bool
    status: int
    tag: str  # e.g. the ``reused`` value of a create response
    generation_id: str
    polls: int
    error: str
    first_ms: float = 0.0  # post_to_completed*: the POST's own latency


class Client:
    """One keep-alive connection; a stale reused connection is re-opened once."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.conn: http.client.HTTPConnection | None = None
        self.requests_on_conn = 0
        self.reconnects = 0
        self.celery_tools: Any = None  # celery_noop: (app, redis client, reply key)
        self.last_headers: http.client.HTTPMessage | None = None
        self.headers = {
            "Authorization": f"Token {target.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.requests_on_conn = 0

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        headers = {**self.headers, **extra} if extra else self.headers
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.target.host, self.target.port, timeout=60
                )
            reused = self.requests_on_conn > 0
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Only a keep-alive connection the server closed while idle is retried
                # (what urllib3 does too); anything else is an error of this request.
                self.close()
                if attempt == 2 or not reused:
                    raise
                self.reconnects += 1
                continue
            self.requests_on_conn += 1
            self.last_headers = response.headers
            if response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _cold_body(kind: str) -> bytes:
    body = create_body(config={"prompt": f"bench {kind} {uuid.uuid4().hex}", "strategy": "once"})
    return json.dumps(body).encode()


def _fail(start: float, status: int, error: str, gen_id: str = "", polls: int = 0) -> Sample:
    return Sample(start, time.monotonic(), False, status, "", gen_id, polls, error[:300])


def op_noop(client: Client, spec: ScenarioSpec) -> Sample:
    start = time.monotonic()
    status, data = client.request("GET", "/bench/noop")
    if status != 200 or _json(data) != {"ok": True}:
        return _fail(start, status, data.decode(errors="replace"))
    return Sample(start, time.monotonic(), True, status, "", "", 0, "")


def op_insert(client: Client, spec: ScenarioSpec) -> Sample:
    body = json.dumps(
        {"prompt": f"bench insert {uuid.uuid4().hex}", "workspace_id": spec.params["workspace_id"]}
    ).encode()
    start = time.monotonic()
    status, data = client.request("POST", "/bench/insert", body)
    if status != 201:
        return _fail(start, status, data.decode(errors="replace"))
    return Sample(start, time.monotonic(), True, status, "", "", 0, "")


def op_create_cold(client: Client, spec: ScenarioSpec) -> Sample:
    body = _cold_body("cold")
    start = time.monotonic()
    status, data = client.request("POST", CREATE_PATH, body)
    doc = _json(data)
    if status != 201 or doc.get("reused") is not None:
        return _fail(start, status, data.decode(errors="replace"))
    return Sample(start, time.monotonic(), True, status, "created", str(doc.get("id")), 0, "")


def op_create_cache_hit(client: Client, spec: ScenarioSpec) -> Sample:
    body: bytes = spec.params["body_bytes"]
    start = time.monotonic()
    status, data = client.request("POST", CREATE_PATH, body)
    doc = _json(data)
    reused = doc.get("reused")
    if status != 200 or reused not in ("dedup", "cache"):
        return _fail(start, status, data.decode(errors="replace"))
    return Sample(start, time.monotonic(), True, status, str(reused), str(doc.get("id")), 0, "")


def op_create_slot_hit(client: Client, spec: ScenarioSpec) -> Sample:
    body = json.dumps(slot_hit_body()).encode()
    start = time.monotonic()
    status, data = client.request("POST", CREATE_PATH, body)
    doc = _json(data)
    if status != 200 or doc.get("reused") != "cache":
        return _fail(start, status, data.decode(errors="replace"))
    return Sample(start, time.monotonic(), True, status, "cache", str(doc.get("id")), 0, "")


def op_celery_noop(client: Client, spec: ScenarioSpec) -> Sample:
    """Publish the bench's no-op task and wait until the worker says it ran (the client's
    connection objects are made once per client thread and kept on its HTTP client)."""
    tools = client.celery_tools
    if tools is None:
        import redis
        from celery import Celery

        app = Celery("bench-client", broker=spec.params["broker_url"])
        app.conf.broker_connection_retry_on_startup = False
        replies = redis.Redis.from_url(spec.params["redis_url"])
        tools = client.celery_tools = (app, replies, f"bench:celery-noop:{uuid.uuid4().hex}")
    app, replies, key = tools
    start = time.monotonic()
    try:
        app.send_task("bench.noop", args=[key], queue="celery")
        done = replies.blpop([key], timeout=30)
    except Exception as exc:
        return _fail(start, 0, f"{type(exc).__name__}: {exc}")
    if done is None:
        return _fail(start, 0, "the worker did not run the no-op task within 30 s")
    return Sample(start, time.monotonic(), True, 200, "", "", 0, "")


def op_post_to_completed(client: Client, spec: ScenarioSpec) -> Sample:
    body = _cold_body("p2c")
    start = time.monotonic()
    status, data = client.request("POST", CREATE_PATH, body)
    first_ms = (time.monotonic() - start) * 1000
    doc = _json(data)
    if status != 201:
        return _fail(start, status, data.decode(errors="replace"))
    gen_id = str(doc["id"])
    polls = 0
    deadline = start + spec.completion_timeout_s
    current = str(doc.get("status"))
    while current != "completed":
        if current in ("failed", "cancelled"):
            return _fail(start, 200, f"generation {gen_id} ended {current}: {doc}", gen_id, polls)
        if time.monotonic() > deadline:
            return _fail(start, 0, f"generation {gen_id} still {current} (timeout)", gen_id, polls)
        time.sleep(spec.poll_interval_s)
        status, data = client.request("GET", f"{CREATE_PATH}/{gen_id}")
        polls += 1
        if status != 200:
            return _fail(start, status, data.decode(errors="replace"), gen_id, polls)
        doc = _json(data)
        current = str(doc.get("status"))
    return Sample(start, time.monotonic(), True, 200, "completed", gen_id, polls, "", first_ms)


def op_post_to_completed_wait(client: Client, spec: ScenarioSpec) -> Sample:
    """POST → completed the way a client that wants the result asks for it: ``Prefer:
    wait`` on the POST (``params["wait_on"] == "post"``, one request) or a POST without
    it then one ``GET`` with it (``"get"``). Each answer must carry
    ``Preference-Applied`` (a WSGI server ignores the preference, that is an error here);
    an answer still not terminal after the wait is asked again with a GET."""
    prefer = {"Prefer": f"wait={PREFER_WAIT_S}"}
    on_post = spec.params.get("wait_on", "post") == "post"
    body = _cold_body("p2c-wait")
    start = time.monotonic()
    status, data = client.request("POST", CREATE_PATH, body, prefer if on_post else None)
    first_ms = (time.monotonic() - start) * 1000
    doc = _json(data)
    if status != 201:
        return _fail(start, status, data.decode(errors="replace"))
    gen_id, requests = str(doc["id"]), 0
    applied = client.last_headers is not None and "Preference-Applied" in client.last_headers
    while True:
        if on_post and not applied:
            return _fail(start, status, "no Preference-Applied: not the ASGI server?", gen_id)
        current = str(doc.get("status"))
        if current == "completed":
            end = time.monotonic()
            return Sample(start, end, True, status, "completed", gen_id, requests, "", first_ms)
        if current in ("failed", "cancelled"):
            return _fail(start, status, f"generation {gen_id} ended {current}", gen_id, requests)
        if time.monotonic() > start + spec.completion_timeout_s:
            return _fail(start, 0, f"generation {gen_id} still {current} (timeout)", gen_id)
        status, data = client.request("GET", f"{CREATE_PATH}/{gen_id}", None, prefer)
        requests += 1
        if status != 200:
            return _fail(start, status, data.decode(errors="replace"), gen_id, requests)
        doc, on_post = _json(data), True  # from here on every answer must be a waited one
        applied = client.last_headers is not None and "Preference-Applied" in client.last_headers


def list_page_problem(doc: dict[str, Any], params: dict[str, Any]) -> str:
    """Why a list page is not the expected one ("" when it is): ``limit`` results, each
    equal to ``expect`` on the filtered fields, and (when ``ids`` is set) exactly the
    reference page's ids in the same order."""
    results = doc.get("results")
    if not isinstance(results, list):
        return f"no results list in {str(doc)[:200]}"
    if len(results) != params["limit"]:
        return f"{len(results)} results, expected {params['limit']}"
    for result in results:
        for name, value in params["expect"].items():
            if result.get(name) != value:
                return f"result {result.get('id')} has {name}={result.get(name)!r}, not {value!r}"
    ids = params.get("ids")
    if ids is not None and [r.get("id") for r in results] != ids:
        return "not the page fetched at scenario start (other ids or order)"
    return ""


def op_list(client: Client, spec: ScenarioSpec) -> Sample:
    start = time.monotonic()
    status, data = client.request("GET", spec.params["path"])
    end = time.monotonic()  # a page is ~100 times a create's body: parse it off the clock
    if status != 200:
        return _fail(start, status, data.decode(errors="replace"))
    problem = list_page_problem(_json(data), spec.params)
    if problem:
        return _fail(start, status, problem)
    return Sample(start, end, True, status, "", "", 0, "")


def _list_fetch(client: Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    status, data = client.request("GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {data[:300].decode(errors='replace')}")
    doc = _json(data)
    problem = list_page_problem(doc, params)
    if problem:
        raise RuntimeError(f"GET {path}: {problem}")
    return doc


def list_prepare(target: Target, spec: ScenarioSpec) -> dict[str, Any]:
    """Fetch a list scenario's page once, before the load starts.

    ``query`` (e.g. ``status=failed&limit=50``) must give ``limit``; its filters become
    ``expect``. With ``follow_next`` the page is the one behind the first page's ``next``
    cursor. Returns the params ``op_list`` needs: ``path``, ``limit``, ``expect`` and the
    reference page's ``ids``. Raises when the reference page is not as expected.
    """
    query: str = spec.params["query"]
    fields = parse_qs(query, strict_parsing=True)
    unknown = set(fields) - {"limit", *LIST_FILTER_FIELDS}
    if unknown or "limit" not in fields:
        raise ValueError(
            f"list query {query!r}: needs limit, may filter on {sorted(LIST_FILTER_FIELDS)}"
        )
    params: dict[str, Any] = {
        "limit": int(fields["limit"][0]),
        "expect": {LIST_FILTER_FIELDS[k]: v[0] for k, v in fields.items() if k != "limit"},
    }
    path = f"{CREATE_PATH}?{query}"
    client = Client(target)
    try:
        page = _list_fetch(client, path, params)
        if spec.params.get("follow_next"):
            first_ids = {r["id"] for r in page["results"]}
            next_url = urlsplit(str(page.get("next") or ""))
            if not next_url.path:
                raise RuntimeError(f"GET {path}: no next cursor")
            path = f"{next_url.path}?{next_url.query}"
            page = _list_fetch(client, path, params)
            if first_ids & {r["id"] for r in page["results"]}:
                raise RuntimeError(f"GET {path}: the next page repeats rows of the first")
    finally:
        client.close()
    return {**params, "path": path, "ids": [r["id"] for r in page["results"]]}


OP_FUNCS: dict[str, Callable[[Client, ScenarioSpec], Sample]] = {
    "noop": op_noop,
    "insert": op_insert,
    "create_cold": op_create_cold,
    "create_cache_hit": op_create_cache_hit,
    "post_to_completed": op_post_to_completed,
    "post_to_completed_wait": op_post_to_completed_wait,
    "create_slot_hit": op_create_slot_hit,
    "celery_noop": op_celery_noop,
    "list": op_list,
}


def op_func(op: str) -> Callable[[Client, ScenarioSpec], Sample]:
    """The function of ``op``: one of ``OPS``, or ``"package.module:function"`` for the ops
    of another harness module (e.g. ``bench.peer_ops``), imported where it runs."""
    if op in OP_FUNCS:
        return OP_FUNCS[op]
    module, sep, name = op.partition(":")
    func = getattr(importlib.import_module(module), name, None) if sep else None
    if not callable(func):
        raise ValueError(f"unknown op {op!r}; choose from {OPS} or name module:function")
    return func  # type: ignore[no-any-return]


# Run once at scenario start, before the clients; the params they return join the spec's.
OP_PREPARE: dict[str, Callable[[Target, ScenarioSpec], dict[str, Any]]] = {
    "list": list_prepare,
}


def _proc_main(
    target: Target,
    spec: ScenarioSpec,
    threads: int,
    ready: Any,  # mp.Queue
    go: Any,  # mp.Event
    start_at: Any,  # mp.Value("d")
    out: Any,  # mp.Queue
) -> None:
    """One client process: ``threads`` closed-loop workers, results sent back on ``out``."""
    op = op_func(spec.op)
    results: list[list[Sample]] = [[] for _ in range(threads)]
    reconnects = [0] * threads

    def worker(index: int, begin: float, deadline: float) -> None:
        client = Client(target)
        local = results[index]
        while time.monotonic() < begin:
            time.sleep(0.0005)
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                local.append(op(client, spec))
            except Exception as exc:  # connection refused, timeout...: an error, not a crash
                client.close()
                local.append(_fail(t0, 0, f"{type(exc).__name__}: {exc}"))
        reconnects[index] = client.reconnects
        client.close()

    ready.put(1)
    go.wait()
    begin = float(start_at.value)
    deadline = begin + spec.warmup_s + spec.duration_s
    pool = [
        threading.Thread(target=worker, args=(i, begin, deadline), daemon=True)
        for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put({"samples": [s for chunk in results for s in chunk], "reconnects": sum(reconnects)})


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "mean_ms": sum(ordered) / len(ordered),
        "min_ms": ordered[0],
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
    }


WindowHook = Callable[[str, list[int]], None]


def run_scenario(
    target: Target, spec: ScenarioSpec, hook: WindowHook | None = None
) -> dict[str, Any]:
    """Run one scenario and summarize it.

    ``hook("start"|"end", client_pids)`` is called at the edges of the measured window
    (the harness samples CPU counters there).
    """
    op_func(spec.op)  # fails early on an unknown op
    if spec.op in OP_PREPARE:
        spec = replace(spec, params={**spec.params, **OP_PREPARE[spec.op](target, spec)})
    procs = max(1, min(spec.procs, spec.concurrency))
    per_proc = [
        spec.concurrency // procs + (1 if i < spec.concurrency % procs else 0) for i in range(procs)
    ]
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    children = [
        ctx.Process(
            target=_proc_main,
            args=(target, spec, n, ready, go, start_at, out),
            daemon=True,
            name=f"load-{spec.name}-{i}",
        )
        for i, n in enumerate(per_proc)
    ]
    try:
        for child in children:
            child.start()
        for _ in children:
            ready.get(timeout=60)
        begin = time.monotonic() + 0.05
        start_at.value = begin
        go.set()
        window_start = begin + spec.warmup_s
        window_end = window_start + spec.duration_s
        pids = [c.pid for c in children if c.pid is not None]
        time.sleep(max(0.0, window_start - time.monotonic()))
        if hook is not None:
            hook("start", pids)
        time.sleep(max(0.0, window_end - time.monotonic()))
        if hook is not None:
            hook("end", pids)
        payloads = [out.get(timeout=spec.completion_timeout_s + 120) for _ in children]
        for child in children:
            child.join(timeout=10)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
    samples: list[Sample] = [Sample(*s) for p in payloads for s in p["samples"]]
    return summarize(
        spec, samples, window_start, window_end, sum(p["reconnects"] for p in payloads)
    )


def summarize(
    spec: ScenarioSpec,
    samples: list[Sample],
    window_start: float,
    window_end: float,
    reconnects: int,
) -> dict[str, Any]:
    in_window = [s for s in samples if window_start <= s.end <= window_end]
    ok_window = [s for s in in_window if s.ok]
    errors = [s for s in samples if not s.ok]
    wall = time.time() - time.monotonic()
    latencies = [(s.end - s.start) * 1000 for s in ok_window]
    summary = latency_summary(latencies)
    return {
        "name": spec.name,
        "spec": {k: v for k, v in asdict(spec).items() if k != "params"},
        "requests_total": len(samples),
        "requests_window": len(in_window),
        "ok_window": len(ok_window),
        "rps": len(ok_window) / spec.duration_s,
        "latency": summary,
        "errors": len(errors),
        "errors_window": len(in_window) - len(ok_window),
        "status_counts": dict(Counter(str(s.status) for s in samples)),
        "tag_counts": dict(Counter(s.tag for s in samples if s.ok and s.tag)),
        "error_samples": [
            {"status": s.status, "error": s.error} for s in errors[:MAX_ERROR_SAMPLES]
        ],
        "polls_mean": (sum(s.polls for s in ok_window) / len(ok_window)) if ok_window else 0.0,
        "generation_ids": [s.generation_id for s in ok_window if s.generation_id]
        if spec.op.startswith("post_to_completed")
        else [],
        "first_latency": latency_summary([s.first_ms for s in ok_window])
        if spec.op.startswith("post_to_completed")
        else {},
        # wall clock (CLOCK_MONOTONIC is system-wide): [sent, first answer, done] per id
        "client_times": {
            s.generation_id: [s.start + wall, s.start + wall + s.first_ms / 1000, s.end + wall]
            for s in ok_window
            if s.generation_id
        }
        if spec.op.startswith("post_to_completed")
        else {},
        "reconnects": reconnects,
    }


def slot_hit_body() -> dict[str, Any]:
    """A body of ``create_slot_hit``: a fixed scene pair (so a fixed cache slot, its key
    holds the scenes, not the content hash) with a new prompt each time (so a new hash the
    dedup lookup never finds): after one warm-up create, every request is answered from
    the Redis slot (``reused == "cache"``)."""
    return create_body(
        config={"prompt": f"bench slot-hit {uuid.uuid4().hex}", "strategy": "once"},
        from_scene={"id": "bench-slot-from"},
        to_scene={"id": "bench-slot-to"},
    )


def cache_hit_params(prompt: str = "bench cache-hit fixed prompt") -> dict[str, Any]:
    """The fixed body of ``create_cache_hit`` (create it once before the scenario)."""
    body = create_body(config={"prompt": prompt, "strategy": "once"})
    return {"body": body, "body_bytes": json.dumps(body).encode()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive one scenario against a running server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--scenario", choices=OPS, default="noop")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=0.005)
    parser.add_argument("--workspace-id", type=int, help="ceiling workspace (insert only)")
    parser.add_argument(
        "--list-query", default="limit=50", help="list only: query string, limit required"
    )
    parser.add_argument(
        "--list-page2", action="store_true", help="list only: request the next page instead"
    )
    args = parser.parse_args(argv)
    params: dict[str, Any] = {}
    if args.scenario == "insert":
        if args.workspace_id is None:
            parser.error("--workspace-id is required for --scenario insert")
        params["workspace_id"] = args.workspace_id
    if args.scenario == "create_cache_hit":
        params.update(cache_hit_params())
    if args.scenario == "list":
        params.update(query=args.list_query, follow_next=args.list_page2)
    spec = ScenarioSpec(
        name=args.scenario,
        op=args.scenario,
        concurrency=args.concurrency,
        procs=args.procs,
        duration_s=args.duration,
        warmup_s=args.warmup,
        poll_interval_s=args.poll_interval,
        params=params,
    )
    result = run_scenario(Target(args.host, args.port, args.token), spec)
    result.pop("generation_ids", None)
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
