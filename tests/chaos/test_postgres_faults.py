"""PostgreSQL stopped under load: 503 in the envelope, then recovery without restarts."""

from __future__ import annotations

import sys
import time

import pytest

from tests.ports import free_port

from .faults import postgres_start, postgres_stop
from .ledger import record_summary
from .load import Api, Load
from .stack import Process, wait_until

pytestmark = pytest.mark.chaos


def test_postgres_stopped_under_load_answers_503_then_recovers(chaos):
    provider = chaos.provider(settings={"latency_ms": 300, "failure_rate": 0.0})
    web_pid, worker_pid = chaos.stack.web.pid, chaos.stack.worker.pid

    def traffic(api: Api, index: int) -> None:
        if index == 0:
            api.request("GET", "/api/v1/generations?limit=5")
        else:
            api.create(provider)

    with Load(chaos.api, traffic, threads=3, seconds=14, pause_s=0.1):
        time.sleep(3)
        postgres_stop(chaos.stack)
        stopped = time.monotonic()
        time.sleep(5)
        postgres_start(chaos.stack)
        started = time.monotonic()

    records = chaos.api.records
    during = [r for r in records if stopped + 0.5 < r.at < started - 0.5]
    assert during, "requests were sent during the outage"
    unavailable = [
        r for r in during if r.status == 503 and r.body["error"]["code"] == "database_unavailable"
    ]
    assert len(unavailable) == len(during), record_summary(during)
    assert all(r.retry_after for r in unavailable), "503 carries Retry-After"
    after = [r for r in records if r.at > started + 2]
    assert after and all(200 <= r.status < 300 for r in after), record_summary(after)
    assert (chaos.stack.web.pid, chaos.stack.worker.pid) == (web_pid, worker_pid)
    assert chaos.stack.web.alive() and chaos.stack.worker.alive(), "no restart needed"

    fresh = chaos.api.create(provider)
    assert fresh.status == 201
    time.sleep(3.1)  # the tasks that failed on the outage are older than the sweep ages now
    chaos.emit(chaos.stack.sweep("--pending-after", "3", "--processing-after", "3"))
    result = chaos.check(terminal_within_s=30)
    assert {r["status"] for r in result.rows.values()} == {"completed"}


def test_the_asgi_pool_replaces_its_connections_after_a_postgres_restart(chaos):
    """The ASGI process keeps pooled connections; a restart kills them all while idle.
    Each is checked when lent, so the first requests after the restart reconnect instead
    of failing, and during the outage a request still gets the 503 envelope."""
    stack = chaos.stack
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "genpipe_site.asgi:application"]
    asgi = Process(
        "asgi",
        [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        stack.dir / "asgi.log",
        {**stack.env, "DATABASE_URL": stack.env["DATABASE_URL"] + "?application_name=asgi"},
    )
    api = Api(f"http://127.0.0.1:{port}", stack.tokens)
    asgi.start()
    try:
        wait_until(
            lambda: api.request("GET", "/healthz", user="", record=False).status == 200,
            30,
            "uvicorn answering /healthz",
            step=0.2,
        )
        warm = [api.request("GET", "/api/v1/generations?limit=5") for _ in range(10)]
        assert all(r.status == 200 for r in warm), record_summary(warm)
        pooled = stack.postgres.query(
            "select count(*) from pg_stat_activity where application_name = 'asgi'"
        )[0][0]
        assert pooled >= 1, "the ASGI process keeps pooled connections between requests"

        postgres_stop(stack)
        down = api.request("GET", "/api/v1/generations?limit=5")
        assert down.status == 503, record_summary([down])
        assert down.latency_s < 5, "a request does not wait the pool's timeout out"
        assert down.body["error"]["code"] == "database_unavailable"
        postgres_start(stack)
        restarted = time.monotonic()

        after = [api.request("GET", "/api/v1/generations?limit=5") for _ in range(10)]
        chaos.emit(
            f"first answer after the restart: {after[0].at + after[0].latency_s - restarted:.2f} s"
        )
        assert all(r.status == 200 for r in after), record_summary(after)
        assert asgi.alive(), "no restart needed"
    finally:
        asgi.stop()
    chaos.check(terminal_within_s=10)
