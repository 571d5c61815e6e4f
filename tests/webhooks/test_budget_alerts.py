"""Budget alerts on the webhook feed: ``budget.threshold_reached`` and
``budget.forecast_exceeded`` deliveries, signed, filtered by each endpoint's ``events``,
one per endpoint, threshold and period, also when many settlements cross at once.

Spend is set up as ledger settlement rows (what the figures are sums of); the alerts are
then checked as a settlement checks them, with a chosen ``now`` for the forecast.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from budgets.alerts import budget_alerts_check
from budgets.models import Budget, BudgetAlert, BudgetEntry
from budgets.periods import period_bounds
from tests.webhooks.receiver import receiver
from tests.webhooks.test_delivery import register, sweep_until
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: Any, settings: Any) -> str:
    settings.GENPIPE_BUDGET_STORE = request.param
    return request.param


def spend(budget: Budget, micros: int, now: datetime) -> None:
    """Record ``micros`` spent in the budget's current period (one settlement row)."""
    BudgetEntry.objects.create(
        budget=budget,
        generation_id=uuid.uuid4(),
        kind=BudgetEntry.Kind.SETTLEMENT,
        amount_micros=micros,
        period_start=period_bounds(budget.period, now)[0],
        at=now,
    )


def by_path(received: list[Any]) -> dict[str, list[Any]]:
    paths: dict[str, list[Any]] = {}
    for request in received:
        paths.setdefault(request.path, []).append(request)
    return paths


def test_alerts_are_signed_deliveries_that_honour_each_endpoints_filter(
    api, user, workspace, store, django_capture_on_commit_callbacks
):
    user.email = "ada@studio.example"
    user.save()
    budget = Budget.objects.create(
        workspace=workspace, limit_usd="1", period="month", mode="soft", alert_thresholds=[0.5]
    )
    start, end = period_bounds("month", timezone.now())
    assert end is not None
    midway = start + (end - start) / 2  # 0.6 spent by then projects 1.2 at the month's end
    spend(budget, 600_000, midway)
    with receiver() as hook:
        endpoints = {
            name: register(api, f"{hook.url}/{name}", events=events)
            for name, events in (
                ("thresholds", ["budget.threshold_reached"]),
                ("forecasts", ["budget.forecast_exceeded"]),
                ("generations", ["generation.completed"]),
                ("everything", []),
            )
        }
        with django_capture_on_commit_callbacks(execute=True):
            fired = budget_alerts_check(budget.id, now=midway)
        assert sorted(a.kind for a in fired) == ["forecast", "threshold"]
        received = by_path(hook.wait_for(4))
        # Checked again (every later settlement does): nothing new anywhere.
        with django_capture_on_commit_callbacks(execute=True):
            assert budget_alerts_check(budget.id, now=midway) == []
            assert budget_alerts_check(budget.id, now=midway + timedelta(hours=1)) == []
    assert sorted(received) == ["/hook/everything", "/hook/forecasts", "/hook/thresholds"]
    bodies = {
        path: [r.verify(endpoints[path.rsplit("/", 1)[1]]["secret"]) for r in requests]
        for path, requests in received.items()
    }
    assert [b["type"] for b in bodies["/hook/thresholds"]] == ["budget.threshold_reached"]
    assert [b["type"] for b in bodies["/hook/forecasts"]] == ["budget.forecast_exceeded"]
    assert sorted(b["type"] for b in bodies["/hook/everything"]) == [
        "budget.forecast_exceeded",
        "budget.threshold_reached",
    ]
    threshold = bodies["/hook/thresholds"][0]
    alert = BudgetAlert.objects.get(kind="threshold")
    assert threshold["timestamp"] == threshold["data"]["at"]
    assert threshold["data"] == {
        "type": "budget.threshold_reached",
        "alert_id": alert.id,
        "kind": "threshold",
        "workspace_id": workspace.id,
        "budget_id": budget.id,
        "provider_id": None,
        "operation_type": None,
        "mode": "soft",
        "period": "month",
        "period_start": start.isoformat().replace("+00:00", "Z"),
        "period_end": end.isoformat().replace("+00:00", "Z"),
        "threshold": "0.5000",
        "limit_usd": "1.000000",
        "spent_usd": "0.600000",
        "forecast_usd": None,
        "at": threshold["data"]["at"],
    }
    forecast = bodies["/hook/forecasts"][0]["data"]
    assert (forecast["kind"], forecast["threshold"]) == ("forecast", "0.0000")
    assert forecast["forecast_usd"] == "1.200000"
    deliveries = Delivery.objects.filter(budget_alert__isnull=False)
    assert deliveries.count() == 4
    assert not deliveries.filter(endpoint_id=endpoints["generations"]["id"]).exists()
    for request in [r for rs in received.values() for r in rs]:
        delivery = Delivery.objects.get(webhook_id=request.headers["webhook-id"])
        assert delivery.event_id is None
        assert delivery.state == Delivery.State.SUCCEEDED
        assert delivery.event_type == request.json["type"]
    assert sorted(m.subject for m in mail.outbox) == [
        f"[genpipe] Budget {budget.id} is forecast to exceed $1.000000",
        f"[genpipe] Budget {budget.id} reached 50% of $1.000000",
    ]
    assert all(m.to == ["ada@studio.example"] for m in mail.outbox)


def test_the_deliveries_api_shows_a_budget_alert_and_redelivers_it_under_its_id(
    api, workspace, store, django_capture_on_commit_callbacks
):
    budget = Budget.objects.create(workspace=workspace, limit_usd="1", period="total")
    spend(budget, 1_000_000, timezone.now())
    with receiver(answers=[500]) as hook:
        endpoint = register(api, hook.url, events=["budget.threshold_reached"])
        with django_capture_on_commit_callbacks(execute=True):
            assert len(budget_alerts_check(budget.id)) == 3  # 50 %, 80 %, 100 % at once
        sweep_until(lambda: len(hook.received) >= 4)  # one failed, retried by the sweeper
        listed = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()["results"]
        assert {d["event_id"] for d in listed} == {None}
        assert {d["budget_alert_id"] for d in listed} == set(
            BudgetAlert.objects.values_list("id", flat=True)
        )
        first = hook.received[0]
        again = next(d for d in listed if d["webhook_id"] == first.headers["webhook-id"])
        url = f"/api/v1/webhooks/{endpoint['id']}/deliveries/{again['id']}/redeliver"
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(url).status_code == 202
        hook.wait_for(5)
        received = list(hook.received)
    assert [r.status for r in received].count(500) == 1
    ids = [r.headers["webhook-id"] for r in received]
    assert len(set(ids)) == 3  # five requests, three deliveries: retries keep the id
    assert ids.count(first.headers["webhook-id"]) == 3  # failed, retried, redelivered
    assert {r.verify(endpoint["secret"])["data"]["threshold"] for r in received} == {
        "0.5000",
        "0.8000",
        "1.0000",
    }


@pytest.mark.postgres
def test_settlements_crossing_at_once_fire_each_alert_exactly_once(
    api, user, workspace, store, settings
):
    """16 threads with their own connections check the same crossed thresholds at once:
    one alert row, one delivery per endpoint and one email per threshold."""
    user.email = "ada@studio.example"
    user.save()
    budget = Budget.objects.create(
        workspace=workspace, limit_usd="1", period="total", alert_thresholds=[0.25, 0.5, 1.0]
    )
    spend(budget, 1_000_000, timezone.now())
    threads, barrier = 16, threading.Barrier(16)
    fired: list[BudgetAlert] = []
    errors: list[BaseException] = []
    with receiver() as hook:
        register(api, f"{hook.url}/a", events=["budget.threshold_reached"])
        register(api, f"{hook.url}/b")

        def check() -> None:
            try:
                barrier.wait()
                fired.extend(budget_alerts_check(budget.id))
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        workers = [threading.Thread(target=check) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        received = hook.wait_for(6)
        with pytest.raises(AssertionError):
            hook.wait_for(7, timeout=1.0)  # and nothing more comes
    assert errors == []
    assert sorted(str(a.threshold) for a in fired) == ["0.2500", "0.5000", "1.0000"]
    assert BudgetAlert.objects.count() == 3
    assert Delivery.objects.filter(budget_alert__isnull=False).count() == 6
    paths = by_path(received)
    for path in ("/hook/a", "/hook/b"):
        thresholds = sorted(r.json["data"]["threshold"] for r in paths[path])
        assert thresholds == ["0.2500", "0.5000", "1.0000"]
    assert len(mail.outbox) == 3
    assert len({m.subject for m in mail.outbox}) == 3


def test_a_threshold_fires_again_in_the_next_period_only(
    api, workspace, store, django_capture_on_commit_callbacks
):
    budget = Budget.objects.create(
        workspace=workspace, limit_usd="1", period="day", alert_thresholds=[0.25]
    )
    today = period_bounds("day", timezone.now())[0] + timedelta(hours=12)
    tomorrow = today + timedelta(days=1)
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["budget.threshold_reached"])
        with django_capture_on_commit_callbacks(execute=True):
            spend(budget, 300_000, today)  # 30 %: projects 60 %, no forecast
            assert len(budget_alerts_check(budget.id, now=today)) == 1
            assert budget_alerts_check(budget.id, now=today + timedelta(hours=1)) == []
            spend(budget, 300_000, tomorrow)
            assert len(budget_alerts_check(budget.id, now=tomorrow)) == 1
            assert budget_alerts_check(budget.id, now=tomorrow) == []
        received = hook.wait_for(2)
        with pytest.raises(AssertionError):
            hook.wait_for(3, timeout=0.5)
    bodies = [r.verify(endpoint["secret"])["data"] for r in received]
    starts = sorted(b["period_start"] for b in bodies)
    assert starts == [
        period_bounds("day", when)[0].isoformat().replace("+00:00", "Z")
        for when in (today, tomorrow)
    ]
    assert len(mail.outbox) == 0  # the workspace's owner has no email address
