"""The outage log against real Redis servers: a closed port, then a frozen (SIGSTOP) one."""

from __future__ import annotations

import logging
import shutil
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from core import outages
from core.outages import outage_failures, outages_reset, redis_client
from tests.conftest import IN_CI  # in CI a missing redis-server fails, never skips
from tests.e2e.test_hung_dependencies import PrivateRedis
from tests.ports import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not IN_CI, reason="redis-server"
)


@pytest.fixture
def log(caplog: Any) -> Iterator[Any]:
    outages_reset()
    with caplog.at_level(logging.INFO, logger="genpipe.outage"):
        yield caplog
    outages_reset()


def lines(caplog: Any) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "genpipe.outage"]


def try_ping(client: redis.Redis) -> float:
    started = time.perf_counter()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    return time.perf_counter() - started


def test_closed_port_one_warning_then_one_recovery(log, monkeypatch):
    monkeypatch.setattr(outages, "FAIL_FAST_S", 0.0)  # every call really tries here
    server = PrivateRedis(free_port())
    name = f"redis 127.0.0.1:{server.port}"
    client = redis_client(f"redis://127.0.0.1:{server.port}/0", timeout=0.25)
    for _ in range(20):
        try_ping(client)
    assert outage_failures(name) == 20
    assert len(lines(log)) == 1
    level, message = lines(log)[0]
    assert level == "WARNING"
    assert message.startswith(f"{name} unavailable: ConnectionError: Error 111 connecting")
    assert all(r.exc_info is None for r in log.records)

    server.start()
    try:
        assert client.ping() and client.ping()
    finally:
        server.stop()
    assert lines(log)[1:] == [("INFO", f"{name} recovered after 20 failures (working again)")]


def test_hung_redis_times_out_once_then_fails_fast(log):
    server = PrivateRedis(free_port())
    server.start()
    try:
        client = redis_client(f"redis://127.0.0.1:{server.port}/0", timeout=0.25)
        assert client.ping()
        server.signal(signal.SIGSTOP)
        started = time.perf_counter()
        with pytest.raises(redis.TimeoutError):
            client.ping()
        first = time.perf_counter() - started
        assert 0.2 < first < 1.0  # one socket timeout; redis-py's own retries are off
        fast = [try_ping(client) for _ in range(5)]
        assert max(fast) < 0.05  # within FAIL_FAST_S nothing waits on the socket
        assert [level for level, _ in lines(log)] == ["WARNING"]
        assert "TimeoutError: Timeout reading from" in lines(log)[0][1]  # "socket" or its address
        server.signal(signal.SIGCONT)
        time.sleep(outages.FAIL_FAST_S)
        assert client.ping()
        assert lines(log)[-1][0] == "INFO"
        assert "recovered after 6 failures" in lines(log)[-1][1]
    finally:
        server.stop()
