"""The latency parts of the bench harness that run without the stack: the ``Prefer: wait``
op against a stub server, the segments of ``--trace`` and the command lines of the served
processes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench import latency, load, serving

GEN_ID = "4f0c5f0e-9d1b-4c8e-a0b7-3f3f0f0f0f0f"


class _Stub(BaseHTTPRequestHandler):
    """POST answers ``pending`` (or ``completed`` when asked to wait); GET ``completed``.
    ``applied`` says whether answers to a waiting request carry Preference-Applied."""

    applied = True
    seen: list[tuple[str, str | None]] = []

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        wait = self.headers.get("Prefer")
        if wait and self.applied:
            self.send_header("Preference-Applied", wait)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.headers.get("Prefer")))
        waited = self.headers.get("Prefer") is not None
        self._answer(201, {"id": GEN_ID, "status": "completed" if waited else "pending"})

    def do_GET(self) -> None:
        self.seen.append(("GET", self.headers.get("Prefer")))
        self._answer(200, {"id": GEN_ID, "status": "completed"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[load.Target]:
    _Stub.applied, _Stub.seen = True, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield load.Target("127.0.0.1", server.server_address[1], "token")
    finally:
        server.shutdown()
        server.server_close()


def _spec(wait_on: str) -> load.ScenarioSpec:
    return load.ScenarioSpec(
        name="p2c_wait",
        op="post_to_completed_wait",
        concurrency=1,
        procs=1,
        duration_s=1,
        warmup_s=0,
        params={"wait_on": wait_on},
    )


def test_the_wait_op_asks_the_post_to_wait_and_needs_one_request(stub: load.Target) -> None:
    sample = load.op_post_to_completed_wait(load.Client(stub), _spec("post"))
    assert sample.ok and sample.generation_id == GEN_ID and sample.polls == 0
    assert _Stub.seen == [("POST", f"wait={load.PREFER_WAIT_S}")]


def test_the_get_wait_op_posts_plainly_then_waits_on_one_get(stub: load.Target) -> None:
    sample = load.op_post_to_completed_wait(load.Client(stub), _spec("get"))
    assert sample.ok and sample.polls == 1
    assert _Stub.seen == [("POST", None), ("GET", f"wait={load.PREFER_WAIT_S}")]


def test_a_server_that_ignores_the_preference_is_an_error(stub: load.Target) -> None:
    _Stub.applied = False  # what a WSGI server does
    for wait_on in ("post", "get"):
        sample = load.op_post_to_completed_wait(load.Client(stub), _spec(wait_on))
        assert not sample.ok and "Preference-Applied" in sample.error


def test_the_trace_splits_the_trip_into_consecutive_segments() -> None:
    stamps = {
        "sent": 0.000,
        "created": 0.002,
        "publish": 0.003,
        "published": 0.0032,
        "received": 0.0035,
        "task_start": 0.004,
        "started": 0.0045,
        "completed": 0.006,
        "committed": 0.0065,
        "woken": 0.007,
        "seen": 0.008,
        "answered": 0.008,
        "task_end": 0.009,
    }
    result = latency.breakdown({"a": stamps, "b": {k: v + 10 for k, v in stamps.items()}})
    by_label = {s["segment"]: s for s in result["segments"]}
    assert by_label[latency.SEGMENTS[0][0]]["p50_ms"] == pytest.approx(2.0)
    assert by_label[latency.SIDE_SEGMENTS[0][0]]["p50_ms"] == pytest.approx(2.5)
    # The path's segments follow each other: their sum is the total.
    assert result["sum_of_p50_ms"] == pytest.approx(result["total"]["p50_ms"])
    assert result["post_answered_before_completed"] == 0
    lines = latency.render({"scenarios": {"p2c": {"trace": result}}})
    assert any(line.startswith("| **total") for line in lines)


def test_a_generation_without_worker_stamps_counts_only_where_it_has_both() -> None:
    result = latency.breakdown({"a": {"sent": 0.0, "answered": 0.001, "seen": 0.005}})
    assert result["total"]["p50_ms"] == pytest.approx(5.0)
    assert all(s["n"] == 0 for s in result["segments"])


def test_the_web_servers_run_the_product_configuration_file() -> None:
    wsgi, asgi = serving.wsgi_args(8000), serving.asgi_args(8001)
    assert wsgi[wsgi.index("-c") + 1] == serving.CONF == asgi[asgi.index("-c") + 1]
    assert wsgi[-1] == "genpipe_site.wsgi:application"
    assert asgi[-1] == "genpipe_site.asgi:application" and "uvicorn_worker.UvicornWorker" in asgi
    assert "127.0.0.1:<free port>" in serving.flags(serving.wsgi_args(0))


def test_extra_flags_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_GUNICORN_ARGS", "--workers 4 --threads 2")
    args = serving.wsgi_args(8000)
    assert args[-5:] == ["--workers", "4", "--threads", "2", "genpipe_site.wsgi:application"]
