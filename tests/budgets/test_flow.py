"""Reserve → settle → release on both stores: refusals, completion, failure, cancel, retry,
the sweeper, a rolled-back create, Redis flushed, alerts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from budgets.alerts import budget_alert_event
from budgets.models import BudgetAlert, BudgetEntry
from budgets.money import to_micros
from budgets.services import budget_guard, budget_reconcile
from budgets.store import ledger_figures, store_figures
from core.errors import ApiError
from generations.models import Generation, ProviderAttempt, Status
from generations.services.lifecycle import generation_transition
from tests.budgets.conftest import make_budget
from tests.builders import create_body

URL = "/api/v1/generations"
IMAGE = Decimal("0.040001")  # the estimate (and actual cost) of create_body() on sandbox


def _figures(budget: Any) -> tuple[int, int]:
    budget.refresh_from_db()
    return store_figures(budget, now=timezone.now())


def _post(api: Any, label: str, **overrides: Any) -> Any:
    return api.post(URL, create_body(config={"prompt": label}, **overrides), format="json")


def _attempts_cost(workspace: Any) -> int:
    costs = ProviderAttempt.objects.filter(generation__workspace=workspace)
    return sum(to_micros(a.cost_usd) for a in costs)


def test_a_hard_budget_refuses_with_402_and_creates_nothing(api, workspace, store, no_dispatch):
    budget = make_budget(workspace, "0.080002")
    assert _post(api, "one").status_code == 201
    assert _post(api, "two").status_code == 201
    refused = _post(api, "three")
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    detail = error["fields"]["budget"][0]
    assert detail["budget_id"] == str(budget.id)
    assert detail["limit_usd"] == "0.080002"
    assert detail["reserved_usd"] == "0.080002"
    assert detail["spent_usd"] == "0.000000"
    assert detail["resets_at"] > timezone.now().isoformat()  # the end of this month
    assert Generation.objects.count() == 2
    assert _figures(budget) == (0, to_micros("0.080002"))
    assert ledger_figures(budget.id, budget.counters_period_start or _start(budget)) == (
        0,
        to_micros("0.080002"),
    )


def _start(budget: Any) -> Any:
    from budgets.periods import period_bounds

    return period_bounds(budget.period, timezone.now())[0]


def test_soft_and_other_scoped_budgets_do_not_refuse(api, workspace, store, no_dispatch):
    make_budget(workspace, "0.01", mode="soft")
    make_budget(workspace, "0.01", operation_type="dialogue")
    make_budget(workspace, "0.01", provider=None, operation_type="image_to_video")
    assert _post(api, "soft").status_code == 201


def test_completion_settles_the_actual_cost_and_releases(
    api, workspace, store, django_capture_on_commit_callbacks
):
    budget = make_budget(workspace, "10")
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(api, "done").status_code == 201
        body = create_body(config={"generation_type": "dialogue", "prompt": "hello there"})
        assert api.post(URL, body, format="json").status_code == 201
    assert set(Generation.objects.values_list("status", flat=True)) == {Status.COMPLETED}
    spent, reserved = _figures(budget)
    assert reserved == 0
    assert spent == _attempts_cost(workspace) > 0
    assert ledger_figures(budget.id, _start(budget)) == (spent, 0)


def test_failure_cancel_and_retry_leave_nothing_reserved(
    api, workspace, sandbox, store, django_capture_on_commit_callbacks
):
    budget = make_budget(workspace, "10")
    sandbox.settings = {"reject_marker": "REJECT"}
    sandbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        failed = _post(api, "REJECT me").json()
    assert Generation.objects.get(id=failed["id"]).status == Status.FAILED
    assert _figures(budget) == (0, 0)
    sandbox.settings = {}
    sandbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"{URL}/{failed['id']}/retry").json()
    assert Generation.objects.get(id=retried["id"]).status == Status.COMPLETED
    spent = _attempts_cost(workspace)
    assert _figures(budget) == (spent, 0)
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        pending = _post(api, "cancel me", scheduled_at=later).json()
        assert _figures(budget) == (spent, to_micros(IMAGE))
        assert api.post(f"{URL}/{pending['id']}/cancel").status_code == 200
    assert _figures(budget) == (spent, 0)
    assert _attempts_cost(workspace) == spent


def test_the_sweepers_worker_lost_failure_releases(
    api, workspace, store, no_dispatch, django_capture_on_commit_callbacks
):
    from generations.services.sweeper import generations_sweep, processing_deadline

    budget = make_budget(workspace, "10")
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(api, "lost").json()
        generation_transition(generation_id=created["id"], to_status=Status.PROCESSING)
        long_ago = timezone.now() - processing_deadline() - timedelta(hours=1)
        Generation.objects.filter(id=created["id"]).update(
            started_at=long_ago, attempt_count=99, claimed_at=long_ago, deadline_at=long_ago
        )
        generations_sweep(now=timezone.now())
    generation = Generation.objects.get(id=created["id"])
    assert generation.status == Status.FAILED, generation.error_code
    assert _figures(budget) == (0, 0)


def test_reconcile_settles_a_reservation_whose_listener_never_ran(
    api, workspace, store, no_dispatch, settings
):
    budget = make_budget(workspace, "10")
    created = _post(api, "crash").json()  # on_commit does not run here: no listener
    Generation.objects.filter(id=created["id"]).update(status=Status.CANCELLED)
    assert _figures(budget)[1] == to_micros(IMAGE)
    assert budget_reconcile()["settled"] == 1
    assert _figures(budget) == (0, 0)
    assert budget_reconcile()["settled"] == 0


@pytest.mark.redis
def test_a_rolled_back_create_gives_its_redis_reservation_back(
    api, workspace, settings, no_dispatch
):
    settings.GENPIPE_BUDGET_STORE = "redis"
    settings.GENPIPE_CREATE_GUARDS = [
        "budgets.services.budget_guard",
        "tests.budgets.test_flow.refusing_guard",
    ]
    budget = make_budget(workspace, "10")
    assert _post(api, "rolled back").status_code == 418
    assert BudgetEntry.objects.count() == 0
    assert _figures(budget)[1] == to_micros(IMAGE)  # leaked until reconciliation
    assert budget_reconcile(now=timezone.now())["rolled_back"] == 0  # within the grace
    later = timezone.now() + timedelta(minutes=2)
    assert budget_reconcile(now=later)["rolled_back"] == 1
    assert _figures(budget) == (0, 0)


def refusing_guard(generation: Any, prepared: Any) -> None:
    raise ApiError("refused after the budget", code="teapot", status_code=418)


@pytest.mark.redis
def test_flushed_redis_counters_are_rebuilt_from_the_ledger(
    api, workspace, settings, no_dispatch, telemetry_redis, django_capture_on_commit_callbacks
):
    settings.GENPIPE_BUDGET_STORE = "redis"
    budget = make_budget(workspace, "0.080002")
    with django_capture_on_commit_callbacks(execute=True):
        done = _post(api, "one").json()
        generation_transition(generation_id=done["id"], to_status=Status.PROCESSING)
    ProviderAttempt.objects.create(
        generation_id=done["id"],
        provider_id="sandbox",
        operation_type="text_to_image",
        started_at=timezone.now(),
        outcome="succeeded",
        cost_usd=Decimal("0.03"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        generation_transition(generation_id=done["id"], to_status=Status.COMPLETED)
    assert _post(api, "two").status_code == 201
    before = _figures(budget)
    assert before == (to_micros("0.03"), to_micros(IMAGE))
    telemetry_redis.flushdb()
    assert _figures(budget) == before
    assert _post(api, "three").status_code == 402  # 0.03 + 0.040001 + 0.040001 > limit


def test_no_budget_costs_at_most_one_lookup(api, workspace, store, no_dispatch):
    generation = Generation(workspace=workspace, provider_id="sandbox", operation_type="dialogue")
    budget_guard(generation, None)  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        budget_guard(generation, None)
    assert len(queries.captured_queries) <= 1  # the database cache's one SELECT, or none
    make_budget(workspace, "0")  # saving drops the cached list
    with pytest.raises(ApiError) as refused:
        generation.estimated_cost_usd = Decimal("0.01")
        budget_guard(generation, None)
    assert refused.value.code == "budget_exceeded"


def test_each_threshold_alerts_once_per_period_with_one_email(
    api, user, workspace, store, django_capture_on_commit_callbacks
):
    user.email = "ada@studio.example"
    user.save()
    budget = make_budget(workspace, "0.1", mode="soft", alert_thresholds=[0.5, 0.8, 1.0])
    for label in ("a", "b"):  # 0.080002: past 50%, below 80%... then 80%
        with django_capture_on_commit_callbacks(execute=True):
            assert _post(api, label).status_code == 201
    alerts = list(BudgetAlert.objects.filter(kind="threshold").order_by("threshold"))
    assert [str(a.threshold) for a in alerts] == ["0.5000", "0.8000"]
    threshold_mail = [m for m in mail.outbox if "reached" in m.subject]
    assert len(threshold_mail) == 2
    assert threshold_mail[0].to == ["ada@studio.example"]
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(api, "c").status_code == 201  # 120%: only the 100% threshold is new
    assert BudgetAlert.objects.filter(kind="threshold").count() == 3
    assert len([m for m in mail.outbox if "reached" in m.subject]) == 3
    from budgets.alerts import budget_alerts_check

    assert [a for a in budget_alerts_check(budget.id) if a.kind == "threshold"] == []
    event = budget_alert_event(alerts[0])
    assert event["type"] == "budget.threshold_reached"
    assert event["budget_id"] == budget.id
    assert event["threshold"] == "0.5000"


def test_cache_hits_reserve_nothing_and_count_what_they_saved(
    api, workspace, store, django_capture_on_commit_callbacks
):
    from budgets.models import ReuseSaving

    budget = make_budget(workspace, "10")
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(api, "same").status_code == 201
    assert _post(api, "same").status_code == 200
    generation = Generation.objects.get()
    assert _figures(budget) == (to_micros(generation.cost_usd), 0)
    assert BudgetEntry.objects.filter(kind="reservation").count() == 1
    saving = ReuseSaving.objects.get(workspace=workspace)
    assert (saving.reused, saving.saved_usd) == (1, generation.cost_usd)
