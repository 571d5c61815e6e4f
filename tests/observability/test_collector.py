"""The gauges computed at scrape time: queue depth and age, breakers, budgets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from budgets.models import Budget
from budgets.services import budget_figures
from generations.models import Generation, OperationType, ProviderBreaker, Workspace
from tests.builders import create_body

URL = "/api/v1/generations"


def gauges(staff_api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = staff_api.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_queue_depth_and_oldest_pending_age(api, staff_api, no_dispatch):
    before = gauges(staff_api)
    for operation in OperationType.values:  # every operation has a series, 0 when idle
        key = ("genpipe_queue_pending_generations", (("gen_ai_operation_name", operation),))
        assert before[key] == 0
    assert before[("genpipe_queue_oldest_pending_age_seconds", ())] == 0
    for i in range(3):
        kind = "dialogue" if i else "text_to_image"
        body = create_body(config={"generation_type": kind, "prompt": f"queued {i}"})
        assert api.post(URL, body, format="json").status_code == 201
    Generation.objects.filter(operation_type="text_to_image").update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    after = gauges(staff_api)
    depth = "genpipe_queue_pending_generations"
    assert after[(depth, (("gen_ai_operation_name", "dialogue"),))] == 2
    assert after[(depth, (("gen_ai_operation_name", "text_to_image"),))] == 1
    assert 600 <= after[("genpipe_queue_oldest_pending_age_seconds", ())] < 660


def test_breaker_state_per_provider(staff_api, sandbox):
    ProviderBreaker.objects.update_or_create(
        provider_id="sandbox",
        defaults={
            "state": ProviderBreaker.State.OPEN,
            "open_until": timezone.now() + timedelta(minutes=5),
            "consecutive_failures": 7,
            "window_started_at": timezone.now(),
            "last_failure_at": timezone.now(),
        },
    )
    values = gauges(staff_api)
    for state, expected in (("open", 1), ("closed", 0), ("half_open", 0)):
        key = (
            "genpipe_provider_breaker_state",
            (("gen_ai_provider_name", "sandbox"), ("state", state)),
        )
        assert values[key] == expected
    failures = (
        "genpipe_provider_breaker_consecutive_failures",
        (("gen_ai_provider_name", "sandbox"),),
    )
    assert values[failures] == 7


def test_budget_spend_is_summed_by_period_never_per_workspace(staff_api, workspace, settings):
    settings.GENPIPE_BUDGET_STORE = "database"
    assert not any(name.startswith("genpipe_budget") for name, _ in gauges(staff_api))
    other = Workspace.objects.create(slug="other", name="Other")
    period_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    budgets = [
        Budget.objects.create(workspace=workspace, limit_usd=Decimal("10"), period="month"),
        Budget.objects.create(workspace=other, limit_usd=Decimal("4"), period="month"),
        Budget.objects.create(workspace=other, limit_usd=Decimal("1"), period="day"),
    ]
    spent = [9_000_000, 1_000_000, 0]  # micros: 90 %, 25 %, 0 %
    for budget, micros in zip(budgets, spent, strict=True):
        Budget.objects.filter(id=budget.id).update(
            spent_micros=micros,
            counters_period_start=period_start if budget.period == "month" else None,
        )
    month_spend = sum(budget_figures(Budget.objects.get(id=b.id)).spent_usd for b in budgets[:2])
    assert month_spend == Decimal("10")  # the store reads what was set
    values = gauges(staff_api)
    assert values[("genpipe_budget_spend_usd", (("period", "month"),))] == pytest.approx(10.0)
    assert values[("genpipe_budget_limit_usd", (("period", "month"),))] == pytest.approx(14.0)
    assert values[("genpipe_budget_limit_usd", (("period", "day"),))] == pytest.approx(1.0)
    count = "genpipe_budgets"
    assert values[(count, (("period", "month"), ("state", "warning")))] == 1
    assert values[(count, (("period", "month"), ("state", "ok")))] == 1
    assert values[(count, (("period", "day"), ("state", "ok")))] == 1
    labels = {
        k for (name, labels), _ in values.items() if name.startswith(count) for k, _ in labels
    }
    assert labels == {"period", "state"}
