"""Webhook delivery benchmark: transition → a local receiver holding the signed delivery.

    .venv/bin/python bench/webhooks_bench.py [--database-url URL] [--redis-url URL]
        [--transitions 100] [--gap-ms 100] [--concurrency 2] [--markdown]

Starts a real Celery worker (``celery -A genpipe_site worker``, prefork, the product
settings) on the given PostgreSQL database and Redis broker, and a local HTTP receiver in
this process. One endpoint of a throwaway workspace points at the receiver (private
targets allowed for the run: ``GENPIPE_WEBHOOK_ALLOW_PRIVATE=1``) and takes
``generation.processing`` and ``generation.completed``. This process makes the transitions
through ``generations.services.lifecycle.generation_transition`` (no provider call: the
generation tasks are not published); the product's path does the rest: the transition
listener ``webhooks.services.deliveries.event_fan_out`` writes the delivery and publishes
``webhooks.deliver`` after the commit, the worker claims it, signs it and POSTs it. The
receiver verifies every delivery with the Standard Webhooks library before it counts it.

Latency of one delivery = the receiver's time when the body arrived minus the time just
before the transition call began ("from the call") or just after it returned ("after
commit"; same machine clock). Transitions are spaced (``--gap-ms``) so latency, not
throughput, is measured.

Prints one JSON document; ``--markdown`` also rewrites the "Webhook delivery" section of
bench/RESULTS.md (between its markers).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.events_bench import free_port, pct  # noqa: E402
from bench.sections import section_current, section_replace  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- webhooks-bench:begin -->", "<!-- webhooks-bench:end -->"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/genpipe_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/6"
WARMUP_TRANSITIONS = 4
EVENTS = ["generation.completed", "generation.processing"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="the broker and cache")
    parser.add_argument("--transitions", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=100.0, help="between transitions")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--markdown", action="store_true", help="rewrite RESULTS.md section")
    parser.add_argument("--json-out", default="", help="also write the JSON here")
    return parser.parse_args(argv)


def setup(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "genpipe_site.settings",
        "DJANGO_DEBUG": "0",
        "GENPIPE_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver listens on 127.0.0.1
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    import django

    django.setup()
    return env


class Receiver:
    """A local HTTP server that verifies each delivery and records when it arrived."""

    def __init__(self) -> None:
        self.secret = ""
        self.at: dict[int, float] = {}
        self.webhook_ids: dict[int, str] = {}
        self.duplicates = 0
        self.rejected = 0
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the worker's session expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.time()
                receiver.record(body, dict(self.headers.items()), now)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/genpipe"

    def record(self, body: bytes, headers: dict[str, str], now: float) -> None:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        try:
            payload = Webhook(self.secret).verify(body, {k.lower(): v for k, v in headers.items()})
        except WebhookVerificationError:
            with self.lock:
                self.rejected += 1
            return
        event_id = int(payload["data"]["event_id"])
        with self.arrived:
            if event_id in self.at:
                self.duplicates += 1
                return
            self.at[event_id] = now
            self.webhook_ids[event_id] = headers.get("webhook-id", "")
            self.arrived.notify_all()

    def wait_for(self, event_ids: set[int], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while not event_ids <= self.at.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
        return True


def fixtures(receiver: Receiver) -> Any:
    from generations.models import Provider, Workspace
    from generations.services import creation
    from generations.services.accounts import api_token_create
    from webhooks.services.endpoints import endpoint_create

    creation.generation_enqueue = lambda **_: None  # type: ignore[assignment]  # no provider
    Provider.objects.filter(id="sandbox").update(
        enabled=True, settings={"latency_ms": 0, "failure_rate": 0.0}
    )
    slug = f"bench-hooks-{uuid.uuid4().hex[:8]}"
    api_token_create(username=slug, workspace_slug=slug, create_workspace=True)
    workspace = Workspace.objects.get(slug=slug)
    _, receiver.secret = endpoint_create(
        workspace=workspace, url=receiver.url, events=EVENTS, enabled=True, description="bench"
    )
    return workspace


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "celery", "-A", "genpipe_site", "worker", "--pool=prefork"]
    cmd += [f"--concurrency={concurrency}", "-Q", "celery", "--loglevel", "WARNING"]
    cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def create_one(workspace: Any) -> str:
    from generations.services import creation

    data = {
        "provider_id": "sandbox",
        "config": {
            "generation_type": "text_to_image",
            "purpose": "adaptive",
            "strategy": "once",
            "fallback": {"mode": "skip"},
            "prompt": f"bench-hooks {uuid.uuid4().hex}",
        },
    }
    return str(creation.generation_create(workspace=workspace, user=None, data=data).generation.id)


def transitions(
    workspace: Any, count: int, gap_s: float
) -> tuple[dict[int, float], dict[int, float]]:
    """pending → processing → completed, alternately; by event id, when each call began
    and when it returned (committed, its delivery written and its task published)."""
    from generations.models import GenerationEvent, Status
    from generations.services.lifecycle import generation_transition

    started: dict[int, float] = {}
    committed: dict[int, float] = {}
    generation_id = ""
    for index in range(count):
        if index % 2 == 0:
            generation_id = create_one(workspace)
        status = Status.PROCESSING if index % 2 == 0 else Status.COMPLETED
        before = time.time()
        generation_transition(generation_id=generation_id, to_status=status)
        after = time.time()
        rows = GenerationEvent.objects.filter(generation_id=generation_id, to_status=status)
        event_id = int(rows.values_list("id", flat=True).get())
        started[event_id], committed[event_id] = before, after
        time.sleep(gap_s)
    return started, committed


def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    from webhooks.models import Delivery

    receiver = Receiver()
    receiver.thread.start()
    workspace = fixtures(receiver)
    worker = start_worker(env, args.concurrency)
    try:
        # The worker's start (and the first connections) is not what is measured: wait
        # for the warm-up deliveries to arrive.
        warm, _ = transitions(workspace, WARMUP_TRANSITIONS, args.gap_ms / 1000)
        if not receiver.wait_for(set(warm), 120):
            raise RuntimeError("the worker did not deliver the warm-up webhooks")
        started, committed = transitions(workspace, args.transitions, args.gap_ms / 1000)
        complete = receiver.wait_for(set(started), 60)
        measured = Delivery.objects.filter(endpoint__workspace=workspace, event_id__in=started)
        states = sorted(set(measured.values_list("state", flat=True)))
        attempts = sum(measured.values_list("attempt_count", flat=True))
    finally:
        stop_worker(worker)
        receiver.server.shutdown()
        workspace.delete()
    got = [i for i in started if i in receiver.at]
    return {
        "transitions": len(started),
        "received": len(got),
        "complete": complete,
        "duplicates": receiver.duplicates,
        "rejected_signatures": receiver.rejected,
        "attempts": attempts,
        "delivery_states": states,
        "from_call": pct([receiver.at[i] - started[i] for i in got]),
        "after_commit": pct([receiver.at[i] - committed[i] for i in got]),
        "transition_call": pct([committed[i] - started[i] for i in started]),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = setup(args)
    result: dict[str, Any] = {
        "config": {
            "transitions": args.transitions,
            "gap_ms": args.gap_ms,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "load_avg_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        }
    }
    result["deliveries"] = measure(args, env)
    result["config"]["load_avg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text)
    if args.markdown:
        section_replace(RESULTS, BEGIN, END, render(result))
    return 0


def render(result: dict[str, Any]) -> list[str]:
    """The "Webhook delivery" section of RESULTS.md (between its markers)."""
    cfg, run = result["config"], result["deliveries"]
    call, commit = run["from_call"], run["after_commit"]
    return [
        BEGIN,
        "## Webhook delivery",
        "",
        "`bench/webhooks_bench.py`: a real Celery worker (prefork, "
        f"concurrency {cfg['concurrency']}, product settings, Redis broker, PostgreSQL) and a "
        "local HTTP receiver that verifies each delivery's Standard Webhooks signature; "
        "the transitions run in the benchmark process through `generation_transition`, "
        "so the product's path does the rest (the `event_fan_out` listener writes the "
        "delivery and publishes `webhooks.deliver` after the commit; the worker claims, "
        "signs and POSTs it). Same "
        f"{cfg['cpus']}-core machine for all of it (load average {cfg['load_avg_start']} at "
        f"the start, {cfg['load_avg_end']} at the end); {cfg['gap_ms']:g} ms between "
        f"transitions, after {WARMUP_TRANSITIONS} uncounted warm-up deliveries.",
        "",
        "**After the call** = receipt minus the moment `generation_transition` returned "
        "(committed, the delivery row written, the task published): the broker, the "
        "worker's claim, signing and POST. **From the call** adds the transition and its "
        "listeners (their p50 is the last column).",
        "",
        "| deliveries received | duplicates | bad signatures | attempts | after the call "
        "p50 / p99 / max ms | from the call p50 / p99 / max ms | transition call p50 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {run['received']} / {run['transitions']} | {run['duplicates']} | "
        f"{run['rejected_signatures']} | {run['attempts']} | {commit.get('p50_ms')} / "
        f"{commit.get('p99_ms')} / {commit.get('max_ms')} | {call.get('p50_ms')} / "
        f"{call.get('p99_ms')} / {call.get('max_ms')} | "
        f"{run['transition_call'].get('p50_ms')} |",
        END,
        "",
    ]


def current_section() -> list[str]:
    """This section as RESULTS.md holds it now (``[]`` when absent): ``bench/run.py``
    rewrites the whole file without running this benchmark, and keeps it."""
    return section_current(RESULTS, BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
