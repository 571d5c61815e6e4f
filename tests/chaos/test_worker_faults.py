"""A worker killed mid-task: the interrupted work runs again and completes exactly once."""

from __future__ import annotations

import pytest

from .faults import rows_processing, sleep_past, worker_kill, worker_pool_child_kill

pytestmark = pytest.mark.chaos
IN_FLIGHT_LATENCY = {"latency_ms": 2000, "failure_rate": 0.0}


def test_pool_child_sigkill_mid_task_reruns_the_work_once(chaos):
    provider = chaos.provider(settings=IN_FLIGHT_LATENCY)
    created = [chaos.api.create(provider) for _ in range(6)]
    assert [r.status for r in created] == [201] * 6
    in_flight = rows_processing(chaos.stack, provider, 2)

    worker_pool_child_kill(chaos.stack)  # the parent survives and forks new children

    result = chaos.check(terminal_within_s=30)
    assert {r["status"] for r in result.rows.values()} == {"completed"}
    assert result.attempts["succeeded"] == 6  # one each: the ledger forbids two
    assert result.attempts["abandoned"] >= in_flight, "the interrupted attempts are abandoned"


def test_whole_worker_sigkill_is_recovered_by_the_sweeper(chaos):
    provider = chaos.provider(settings=IN_FLIGHT_LATENCY)
    created = [chaos.api.create(provider) for _ in range(6)]
    assert [r.status for r in created] == [201] * 6
    in_flight = rows_processing(chaos.stack, provider, 2)

    worker_kill(chaos.stack)  # parent and children: their messages stay unacked
    chaos.stack.worker_start()
    sleep_past(3)  # the sweeper's age rule: the killed attempts are older than 3 s now
    chaos.emit(chaos.stack.sweep("--processing-after", "3"))

    result = chaos.check(terminal_within_s=30)
    assert {r["status"] for r in result.rows.values()} == {"completed"}
    assert result.attempts["succeeded"] == 6
    assert result.attempts["abandoned"] >= in_flight
