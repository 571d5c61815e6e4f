"""Budget alerts through a real Celery worker: concurrent creates fill a hard budget, the
worker's settlements cross its thresholds, and each threshold reaches a local receiver
exactly once (signed, retried under one ``webhook-id``, the ``events`` filter honoured)
and the workspace's owner exactly once by email (Django's file backend in the worker)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from budgets.models import Budget, BudgetAlert
from budgets.money import to_micros
from budgets.store import store_figures
from generations.models import Generation, ProviderAttempt
from tests.builders import create_body
from tests.e2e.test_webhooks_worker import webhook_worker  # noqa: F401 (the fixture)
from tests.e2e.test_worker import wait_for, worker_queue  # noqa: F401 (the fixture)
from tests.webhooks.receiver import receiver
from webhooks.models import Delivery

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
CREATES, ALLOWED = 12, 8
THRESHOLDS = ["0.25", "0.5", "0.75", "1.0"]


@pytest.fixture
def mail_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(folder))
    return folder


def sent_subjects(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return [
        line.removeprefix("Subject: ")
        for message in sorted(folder.iterdir())
        for line in message.read_text().splitlines()
        if line.startswith("Subject: ")
    ]


def test_each_threshold_is_one_delivery_and_one_email_per_period(
    api, user, workspace, sandbox, mail_dir, request
):
    user.email = "ada@studio.example"
    user.save()
    request.getfixturevalue("webhook_worker")  # after mail_dir: the worker mails to files
    estimate = Decimal("0.040001")  # create_body() on sandbox: one image
    budget = Budget.objects.create(
        workspace=workspace,
        limit_usd=estimate * ALLOWED,
        period="total",
        alert_thresholds=[float(t) for t in THRESHOLDS],
    )
    # The alerts' receiver fails its first request; the other one takes everything else.
    with receiver(answers=[500]) as hook, receiver() as other:
        hooks = {
            name: api.post(
                "/api/v1/webhooks", {"url": f"{url}/{name}", "events": events}, format="json"
            ).json()
            for url, name, events in (
                (hook.url, "thresholds", ["budget.threshold_reached"]),
                (other.url, "forecasts", ["budget.forecast_exceeded"]),
                (other.url, "generations", ["generation.completed"]),
            )
        }
        codes: list[int] = []
        barrier = threading.Barrier(CREATES)

        def create(index: int) -> None:
            client = APIClient()
            client.force_authenticate(user)
            try:
                barrier.wait()
                body = create_body(config={"prompt": f"harbour at night {index}"})
                codes.append(client.post("/api/v1/generations", body, format="json").status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=create, args=(i,)) for i in range(CREATES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [201] * ALLOWED + [402] * (CREATES - ALLOWED)
        for generation_id in Generation.objects.values_list("id", flat=True):
            wait_for(str(generation_id), "completed")
        # The worker settles right after each completion commits: wait for the last one.
        deadline = time.monotonic() + 20
        while (figures := store_figures(budget, now=timezone.now()))[1] and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        spent, reserved = figures
        assert reserved == 0
        assert spent == sum(to_micros(a.cost_usd) for a in ProviderAttempt.objects.all())
        crossed = [t for t in THRESHOLDS if spent >= Decimal(t) * to_micros(budget.limit_usd)]
        assert len(crossed) >= 3, (spent, budget.limit_usd)
        # Every crossed threshold once, plus the first request, which failed and was retried.
        hook.wait_for(len(crossed) + 1, timeout=45)
        other.wait_for(ALLOWED, timeout=45)
        deadline = time.monotonic() + 45
        while len(sent_subjects(mail_dir)) < len(crossed) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # anything duplicated would arrive by now
        received = list(hook.received) + list(other.received)
    to_thresholds = [r for r in received if r.path == "/hook/thresholds"]
    bodies = [r.verify(hooks["thresholds"]["secret"]) for r in to_thresholds]
    assert {b["type"] for b in bodies} == {"budget.threshold_reached"}
    assert [r.status for r in to_thresholds].count(500) == 1
    succeeded = [b for r, b in zip(to_thresholds, bodies, strict=True) if r.status == 200]
    expected = sorted(str(Decimal(t).quantize(Decimal("0.0001"))) for t in crossed)
    assert sorted(b["data"]["threshold"] for b in succeeded) == expected
    assert {b["data"]["budget_id"] for b in bodies} == {budget.id}
    ids = [r.headers["webhook-id"] for r in to_thresholds]
    assert len(set(ids)) == len(crossed)  # the retry kept its delivery's webhook-id
    assert not [r for r in received if r.path == "/hook/forecasts"]
    to_generations = [r for r in received if r.path == "/hook/generations"]
    assert len(to_generations) == ALLOWED
    for r in to_generations:
        assert r.verify(hooks["generations"]["secret"])["type"] == "generation.completed"
    assert BudgetAlert.objects.filter(budget=budget).count() == len(crossed)
    assert Delivery.objects.filter(budget_alert__isnull=False).count() == len(crossed)
    subjects = sent_subjects(mail_dir)
    assert sorted(subjects) == sorted(
        f"[genpipe] Budget {budget.id} reached {Decimal(t) * 100:.0f}% of ${budget.limit_usd}"
        for t in crossed
    )
    assert all(a.emailed_to == ["ada@studio.example"] for a in BudgetAlert.objects.all())
