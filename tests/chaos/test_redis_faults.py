"""Redis killed or hung under create load: creates stay fast and answered, nothing is lost."""

from __future__ import annotations

import time

import pytest

from .faults import redis_hung, redis_kill, redis_start
from .load import Api, Load

pytestmark = pytest.mark.chaos


def test_redis_killed_under_load_then_restarted_empty(chaos):
    provider = chaos.provider()

    def create(api: Api, index: int) -> None:
        api.create(provider)

    with Load(chaos.api, create, threads=3, seconds=9, pause_s=0.1):
        time.sleep(2)
        redis_kill(chaos.stack)
        time.sleep(3)
        redis_start(chaos.stack)  # empty: queued task messages died with it
    creates = [r for r in chaos.api.records if r.method == "POST"]
    assert creates and {r.status for r in creates} == {201}, "creates keep working"

    assert chaos.stack.worker.alive(), "the worker survives a broker restart"
    time.sleep(2.1)  # the lost messages' rows are older than the sweep's thresholds now
    # The restarted Redis is empty: queued messages and those of the tasks the worker
    # cancelled on the connection loss are gone. The operator's sweep recovers both.
    chaos.emit(chaos.stack.sweep("--pending-after", "1", "--processing-after", "2"))
    result = chaos.check(terminal_within_s=30)
    assert {r["status"] for r in result.rows.values()} == {"completed"}


def test_redis_hung_does_not_stall_requests(chaos):
    provider = chaos.provider()

    def create(api: Api, index: int) -> None:
        if index == 0:
            api.request("GET", "/healthz", user="")
        else:
            api.create(provider)

    with Load(chaos.api, create, threads=5, seconds=12, pause_s=0.1):
        time.sleep(2)
        with redis_hung(chaos.stack):
            time.sleep(8)
    creates = [r for r in chaos.api.records if r.method == "POST"]
    probes = [r for r in chaos.api.records if r.path == "/healthz"]
    slow_creates = [round(r.latency_s, 1) for r in creates if r.latency_s >= 3]
    slow_probes = [round(r.latency_s, 1) for r in probes if r.latency_s >= 1]
    assert creates and {r.status for r in creates} == {201}
    assert not slow_creates, f"{len(slow_creates)} creates took 3 s or more: {slow_creates[:8]}"
    assert not slow_probes, f"{len(slow_probes)} /healthz took 1 s or more: {slow_probes[:8]}"

    time.sleep(1.1)
    chaos.emit(chaos.stack.sweep("--pending-after", "1"))  # publishes that gave up
    result = chaos.check(terminal_within_s=30)
    assert {r["status"] for r in result.rows.values()} == {"completed"}
