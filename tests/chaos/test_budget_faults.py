"""A worker SIGKILLed while generations under a hard budget are in their provider call:
after the recovery (Celery's redelivery, or the sweeper), nothing stays reserved and the
budget has spent exactly what the provider attempts cost, in its counters (the API) and in
its ledger (PostgreSQL)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from .faults import rows_processing, sleep_past, worker_kill, worker_pool_child_kill

pytestmark = pytest.mark.chaos
IN_FLIGHT = {"latency_ms": 2000, "failure_rate": 0.0}  # the kill lands inside the call
PRICES = {
    "price_per_image": "0.04",
    "price_per_1k_input_tokens": "0.00015",
    "price_per_1k_output_tokens": "0.0006",
}
KINDS = ("text_to_image", "dialogue")


def budget_create(chaos: Any, provider: str) -> dict[str, Any]:
    record = chaos.api.request(
        "POST",
        "/api/v1/budgets",
        json={"provider_id": provider, "limit_usd": "10", "period": "total", "mode": "hard"},
        record=False,  # the ledger counts the generations' 201s
    )
    assert record.status == 201, record.text
    return dict(record.body)


def settled_figures(chaos: Any, budget_id: int, timeout: float = 20.0) -> dict[str, Any]:
    """The budget as the API shows it once nothing is reserved (each settlement follows
    its generation's terminal commit), or as it is when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        record = chaos.api.request("GET", f"/api/v1/budgets/{budget_id}", record=False)
        assert record.status == 200, record.text
        if Decimal(record.body["reserved_usd"]) == 0 or time.monotonic() > deadline:
            return dict(record.body)
        time.sleep(0.2)


def assert_budget_settled(chaos: Any, budget: dict[str, Any], provider: str) -> None:
    figures = settled_figures(chaos, budget["id"])
    (attempts_cost, attempts) = chaos.stack.postgres.query(
        "select coalesce(sum(a.cost_usd), 0), count(*) from generations_providerattempt a "
        "join generations_generation g on g.id = a.generation_id where g.provider_id = %s",
        (provider,),
    )[0]
    ledger = dict(
        chaos.stack.postgres.query(
            "select kind, sum(amount_micros) from budgets_budgetentry where budget_id = %s "
            "group by kind",
            (budget["id"],),
        )
    )
    chaos.emit(
        f"budget: {figures['spent_usd']} spent, {figures['reserved_usd']} reserved; "
        f"{attempts} attempts costing {attempts_cost}; ledger {ledger}",
        label="budget",
    )
    assert Decimal(figures["reserved_usd"]) == 0
    assert Decimal(figures["spent_usd"]) == attempts_cost > 0
    assert ledger["reservation"] == ledger["release"]
    assert ledger["settlement"] == int(attempts_cost * 1_000_000)
    deleted = chaos.api.request("DELETE", f"/api/v1/budgets/{budget['id']}", record=False)
    assert deleted.status == 204, deleted.text


def create_under_budget(chaos: Any, provider: str, count: int = 6) -> None:
    created = [chaos.api.create(provider, kind=KINDS[i % 2]) for i in range(count)]
    assert [r.status for r in created] == [201] * count, [r.text for r in created]


def test_pool_child_sigkill_mid_call_leaves_nothing_reserved(chaos):
    provider = chaos.provider(settings=IN_FLIGHT, **PRICES)
    budget = budget_create(chaos, provider)
    create_under_budget(chaos, provider)
    in_flight = rows_processing(chaos.stack, provider, 2)

    worker_pool_child_kill(chaos.stack)  # Celery redelivers the lost tasks

    result = chaos.check(terminal_within_s=40)
    assert {r["status"] for r in result.rows.values()} == {"completed"}
    assert result.attempts["abandoned"] >= in_flight
    assert_budget_settled(chaos, budget, provider)


@pytest.mark.parametrize("max_retries", [2, 0], ids=["rerun", "failed-worker-lost"])
def test_whole_worker_sigkill_then_the_sweeper_leaves_nothing_reserved(chaos, max_retries):
    provider = chaos.provider(settings={**IN_FLIGHT, "max_retries": max_retries}, **PRICES)
    budget = budget_create(chaos, provider)
    create_under_budget(chaos, provider)
    in_flight = rows_processing(chaos.stack, provider, 2)

    worker_kill(chaos.stack)  # parent and children: their messages stay unacked
    chaos.stack.worker_start()
    sleep_past(3)  # the sweeper's age rule: the killed attempts are older than 3 s now
    chaos.emit(chaos.stack.sweep("--processing-after", "3"))

    result = chaos.check(terminal_within_s=40, max_retries={provider: max_retries})
    statuses = [r["status"] for r in result.rows.values()]
    if max_retries:  # the sweeper schedules the next attempt: everything completes
        assert set(statuses) == {"completed"}
    else:  # no retry left: the sweeper fails the interrupted ones, the rest complete
        failed = [r for r in result.rows.values() if r["status"] == "failed"]
        assert len(failed) >= in_flight
        assert {r["error_code"] for r in failed} == {"worker_lost"}
        assert statuses.count("completed") == len(statuses) - len(failed) > 0
    assert result.attempts["abandoned"] >= in_flight
    assert_budget_settled(chaos, budget, provider)
