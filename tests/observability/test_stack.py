"""``/metrics`` and traces from a running stack: real gunicorn (2 workers, the documented
gunicorn_conf.py), a real Celery prefork worker, PostgreSQL and Redis, real HTTP traffic.

The scrape is parsed with prometheus-client's own parser; its figures are compared with
the telemetry and cache statistics APIs, which count the same events on their own path
(Redis aggregates). Traces go to an OTLP/HTTP receiver in the test."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from generations.models import Generation, ProviderAttempt, Workspace, WorkspaceMembership
from observability.metrics import DURATION_BUCKETS, TOKEN_BUCKETS
from tests.builders import create_body
from tests.ports import free_port

from .stack import OtlpReceiver, Stack, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
BEARER = "scrape-" + uuid.uuid4().hex
GENERATIONS = "/api/v1/generations"
DURATION = "gen_ai_client_operation_duration_seconds"
USAGE = "gen_ai_client_token_usage"
SPAN_SERVER, SPAN_CLIENT, SPAN_PRODUCER, SPAN_CONSUMER = 2, 3, 4, 5  # OTLP Span.SpanKind


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    otlp.start()
    yield otlp
    otlp.stop()


@pytest.fixture
def stack(telemetry_redis: Any, sandbox: Any, receiver: OtlpReceiver, tmp_path: Path):
    db = connection.settings_dict
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    queue = f"obs-{uuid.uuid4().hex[:8]}"
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if not k.startswith(("OTEL_", "PROMETHEUS_", "GENPIPE_", "CELERY_"))
    }
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,  # this test's flushed telemetry database
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="genpipe_site.settings",
        GENPIPE_VAR_DIR=str(tmp_path / "var"),
        GENPIPE_METRICS_TOKEN=BEARER,
        GENPIPE_ACCESS_LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        GENPIPE_WORKER_METRICS_PORT=str(free_port()),
        CELERY_TASK_SEND_SENT_EVENT="1",  # opt-in; the worker's events are turned on below
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver.port}",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_SERVICE_NAME="genpipe-test",
        PYTHONUNBUFFERED="1",
    )
    running = Stack(env=env, multiproc_dir=multiproc, log_dir=tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def clients(stack: Stack, django_user_model: Any) -> dict[str, requests.Session]:
    member = django_user_model.objects.create_user(username="player-api", password="x")
    workspace = Workspace.objects.create(slug="game", name="Game")
    WorkspaceMembership.objects.create(workspace=workspace, user=member, role="owner")
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    sessions = {}
    for name, user in (("member", member), ("staff", staff)):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
        sessions[name] = session
    scraper = requests.Session()
    scraper.headers["Authorization"] = f"Bearer {BEARER}"
    sessions["scraper"] = scraper
    return sessions


def fresh(session: requests.Session) -> requests.Session:
    """A new connection with the same credentials (new connections spread over the web
    workers)."""
    other = requests.Session()
    other.headers.update(session.headers)
    return other


def create(stack: Stack, session: requests.Session, body: dict[str, Any]) -> dict[str, Any]:
    response = session.post(f"{stack.url}{GENERATIONS}", json=body, timeout=30)
    assert response.status_code in (200, 201), response.text[:300]
    return response.json()


def all_finished() -> bool:
    return not Generation.objects.filter(status__in=["pending", "processing"]).exists()


def settled(stack: Stack, scraper: requests.Session, timeout: float = 90) -> dict[str, Any]:
    """A scrape once every generation finished and the worker has counted every provider
    call in the database (it counts just after the transaction that completes one)."""
    wait_until(all_finished, timeout, "the worker finishing the generations")
    calls = ProviderAttempt.objects.filter(finished_at__isnull=False).count()
    return wait_until(
        lambda: (f := scrape(stack, scraper)) and total(f, DURATION, "_count") == calls and f,
        30,
        f"the scrape counting the {calls} provider calls",
    )


def scrape(stack: Stack, session: requests.Session) -> dict[str, Any]:
    response = session.get(f"{stack.url}/metrics", timeout=30)
    assert response.status_code == 200, response.text[:300]
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def total(families: dict[str, Any], name: str, suffix: str, **labels: str) -> float:
    family = families.get(name)
    samples = family.samples if family else []
    return sum(
        s.value
        for s in samples
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    )


def series(families: dict[str, Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(s.name, tuple(sorted(s.labels.items()))) for f in families.values() for s in f.samples}


def bucket_bounds(families: dict[str, Any], name: str) -> list[float]:
    bounds = {float(s.labels["le"]) for s in families[name].samples if s.name.endswith("_bucket")}
    return sorted(bounds)


def test_scrape_matches_the_telemetry_api_and_series_stay_flat(stack, clients):
    member, staff, scraper = clients["member"], clients["staff"], clients["scraper"]
    anonymous = requests.get(f"{stack.url}/metrics", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/json"
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    member_scrape = member.get(f"{stack.url}/metrics", timeout=10)
    assert member_scrape.status_code == 403
    assert member_scrape.json()["error"]["code"] == "permission_denied"

    # Traffic on both web workers (one session per thread), both operations, reuse.
    bodies = [
        create_body(config={"generation_type": kind, "prompt": f"{kind} {i}"})
        for i in range(6)
        for kind in ("text_to_image", "dialogue")
    ]
    bodies += bodies[:3]  # dedup hits

    def player(i: int, strategy: str = "once") -> dict[str, Any]:
        return create_body(
            config={"generation_type": "dialogue", "strategy": strategy, "prompt": "greet"},
            player_context={"player_id": f"player-{i}", "playthrough_id": f"pt-{i}"},
            from_scene={"id": "tavern", "mood": "calm"},  # a scene id: one slot for all
        )

    bodies += [player(i) for i in range(3)] + [player(i, "per_player") for i in range(3)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda body: create(stack, fresh(member), body), bodies))
    families = settled(stack, scraper)
    # Several processes wrote values: gunicorn's workers and the worker's pool processes.
    writers = {int(p.stem.rsplit("_", 1)[1]) for p in stack.multiproc_dir.glob("counter_*.db")}
    web = set(stack.web_workers())
    assert writers & web and writers - web

    # The worker's own port (for a worker on a host of its own) serves the same files.
    port = stack.env["GENPIPE_WORKER_METRICS_PORT"]
    own = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    worker_families = {f.name: f for f in text_string_to_metric_families(own.text)}
    assert total(worker_families, DURATION, "_count") == total(families, DURATION, "_count")

    # The GenAI families, with the conventions' names, types and bucket boundaries.
    assert families[DURATION].type == "histogram"
    assert families[USAGE].type == "histogram"
    assert bucket_bounds(families, DURATION) == [*DURATION_BUCKETS, float("inf")]
    assert bucket_bounds(families, USAGE) == [*map(float, TOKEN_BUCKETS), float("inf")]
    assert {s.labels["gen_ai_token_type"] for s in families[USAGE].samples} == {"input", "output"}

    # Counts agree with the telemetry API.
    report = staff.get(f"{stack.url}{GENERATIONS}/telemetry/providers/sandbox", timeout=10)
    assert report.status_code == 200
    totals = report.json()["totals"]
    labels = {"gen_ai_provider_name": "sandbox"}
    assert totals["attempts"] > 0
    assert total(families, DURATION, "_count", **labels) == totals["attempts"]
    assert (
        total(families, USAGE, "_sum", gen_ai_token_type="input", **labels) == totals["tokens_in"]
    )
    assert (
        total(families, USAGE, "_sum", gen_ai_token_type="output", **labels) == totals["tokens_out"]
    )
    for status in ("completed", "failed", "cancelled"):
        assert total(families, "genpipe_generations", "_total", status=status) == totals[status]
    assert total(families, "genpipe_provider_cost_usd", "_total", **labels) == pytest.approx(
        float(totals["cost_usd"]), abs=1e-5
    )
    for kind in ("text_to_image", "dialogue"):
        operation = staff.get(
            f"{stack.url}{GENERATIONS}/telemetry/operations/{kind}", timeout=10
        ).json()["totals"]
        assert (
            total(families, DURATION, "_count", gen_ai_operation_name=kind) == operation["attempts"]
        )
    lookups = "genpipe_cache_lookups"
    counted = {
        field: total(families, lookups, "_total", outcome=outcome)
        for field, outcome in (("misses", "miss"), ("hits_cache", "cache"), ("hits_dedup", "dedup"))
    }

    def caught_up() -> dict[str, Any] | None:
        found = staff.get(f"{stack.url}{GENERATIONS}/cache/stats", timeout=10).json()["last_1h"]
        return found if all(found[k] == v for k, v in counted.items()) else None

    # Each web process writes its statistics within GENPIPE_STATS_FLUSH_S (1 s): the API
    # catches up with the counters (which every process updates at once) within that.
    cache = wait_until(caught_up, 10, f"cache statistics equal to the counters {counted}")
    assert cache["hits_cache"] >= 2 and cache["hits_dedup"] >= 3
    assert total(families, "genpipe_queue_pending_generations", "") == 0
    assert total(families, "genpipe_provider_breaker_state", "", state="closed", **labels) == 1

    # 1,000 distinct players: cache hits and new per-player generations, no new series.
    before = series(families)
    players = [player(1000 + i) for i in range(970)]
    players += [player(5000 + i, "per_player") for i in range(30)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda body: create(stack, member, body), players))
    after_players = settled(stack, scraper, timeout=180)
    grown = series(after_players) ^ before
    assert not grown, f"series that came or went: {sorted(grown)[:20]}"
    assert total(after_players, lookups, "_total", outcome="cache") >= cache["hits_cache"] + 970

    # A web worker that exits (gunicorn replaces it) keeps its counts in the sums.
    workers = stack.web_workers()
    assert len(workers) == 2
    __import__("os").kill(workers[0], 15)
    wait_until(
        lambda: len(stack.web_workers()) == 2 and workers[0] not in stack.web_workers(),
        30,
        "gunicorn replacing its worker",
    )
    after_exit = scrape(stack, scraper)
    for outcome in ("miss", "cache", "dedup"):
        assert total(after_exit, lookups, "_total", outcome=outcome) == total(
            after_players, lookups, "_total", outcome=outcome
        )


def test_one_create_is_one_connected_trace_from_the_api_to_the_provider_call(
    stack, clients, receiver
):
    body = create_body(config={"generation_type": "dialogue", "prompt": "trace me"})
    generation_id = create(stack, clients["member"], body)["id"]
    wait_until(all_finished, 60, "the worker finishing the generation")

    def provider_span() -> Any:
        for span in receiver.spans:
            ours = span.attributes.get("genpipe.generation.id") == generation_id
            if ours and span.kind == SPAN_CLIENT:
                return span
        return None

    call = wait_until(provider_span, 30, "the provider call's span at the receiver")
    assert call.attributes["gen_ai.operation.name"] == "dialogue"
    assert call.attributes["gen_ai.provider.name"] == "sandbox"
    assert call.attributes["gen_ai.request.model"]
    assert call.attributes["gen_ai.usage.input_tokens"] > 0
    assert call.attributes["gen_ai.usage.output_tokens"] > 0

    def whole_trace() -> dict[str, Any] | None:
        spans = {s.span_id: s for s in receiver.spans if s.trace_id == call.trace_id}
        chain, span = [], call
        while span is not None:
            chain.append(span)
            span = spans.get(span.parent_id) if span.parent_id else None
        return {"chain": chain} if chain[-1].kind == SPAN_SERVER else None

    chain = wait_until(whole_trace, 30, "the trace's root (the API request) at the receiver")[
        "chain"
    ]
    kinds = [span.kind for span in chain]
    # provider call <- task (worker) <- publish <- ... <- API request (root)
    assert kinds[:3] == [SPAN_CLIENT, SPAN_CONSUMER, SPAN_PRODUCER]
    root = chain[-1]
    assert root.parent_id == ""
    assert root.attributes["genpipe.generation.id"] == generation_id
    assert root.attributes.get("http.request.method", root.attributes.get("http.method")) == "POST"
    # The task span (exported by the worker) and the publish span (by the web process).
    assert chain[1].attributes["genpipe.generation.id"] == generation_id
    assert chain[2].attributes["genpipe.generation.id"] == generation_id
    assert {span.service for span in chain} == {"genpipe-test"}


def test_task_events_reach_a_flower_style_listener(stack, clients):
    """What Flower reads: the worker's received/started/succeeded events (off until asked,
    as Flower asks with ``enable_events``) and the web process's task-sent (opted in
    above), on genpipe's broker."""
    from genpipe_site.celery import app

    # Asked of this stack's worker only: other tests' workers may share the broker.
    ours = f"{stack.env['CELERY_TASK_DEFAULT_QUEUE']}@{socket.gethostname()}"
    replies = app.control.broadcast("enable_events", reply=True, timeout=3, destination=[ours])
    assert [list(r) for r in replies] == [[ours]], replies
    assert "ok" in replies[0][ours], replies
    events: list[dict[str, Any]] = []
    with app.connection_for_read() as connection_:
        receiver = app.events.Receiver(connection_, handlers={"*": events.append})
        # capture() declares its queue, then drains until should_stop (checked every second)
        thread = threading.Thread(target=receiver.capture, kwargs={"limit": None}, daemon=True)
        thread.start()
        time.sleep(2)  # the event queue is bound before the create
        body = create_body(config={"generation_type": "dialogue", "prompt": "seen by flower"})
        generation_id = create(stack, clients["member"], body)["id"]

        def task_events() -> dict[str, dict[str, Any]] | None:
            sent = [
                e
                for e in events
                if e["type"] == "task-sent" and generation_id in str(e.get("args"))
            ]
            if not sent:
                return None
            ours = {e["type"]: e for e in events if e.get("uuid") == sent[0]["uuid"]}
            return ours if "task-succeeded" in ours else None

        try:
            seen = wait_until(task_events, 30, "task-sent … task-succeeded for the create")
        finally:
            receiver.should_stop = True
            thread.join(5)
    assert seen["task-sent"]["name"] == "generations.process_generation"
    assert {"task-received", "task-started", "task-succeeded"} <= set(seen)
    assert seen["task-received"]["hostname"].startswith("obs-")
