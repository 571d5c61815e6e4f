"""200 concurrent creates (16 threads with their own connections, released together)
against a hard budget that allows N at their estimate: at most N accepted, the rest 402,
spent + reserved never over the limit; after the drain, spent is the attempts' actual
cost and nothing stays reserved. PostgreSQL here; SQLite in test_embedded."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from budgets.money import to_micros
from budgets.store import store_figures
from generations.models import Generation, ProviderAttempt
from generations.services.pricing import cost_estimate
from generations.tasks import process_generation
from tests.budgets.conftest import make_budget
from tests.builders import create_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/generations"
CREATES, THREADS, ALLOWED = 200, 16, 37

OPERATIONS = {
    "text": {"generation_type": "dialogue", "purpose": "adaptive"},
    "image": {"generation_type": "text_to_image"},
    "video": {
        "generation_type": "image_to_video",
        "image_url": "https://a.example/still.png",
        "duration": {"max": 6, "target": 4},
    },
}


def _body(kind: str, index: int) -> dict[str, Any]:
    return create_body(config={**OPERATIONS[kind], "prompt": f"scene number {index:04d}"})


@pytest.mark.parametrize(
    ("store_name", "kind"),
    [
        pytest.param("redis", "text", marks=pytest.mark.redis),
        pytest.param("redis", "image", marks=pytest.mark.redis),
        pytest.param("redis", "video", marks=pytest.mark.redis),
        ("database", "image"),  # the store without Redis (all three kinds: test_embedded)
    ],
)
def test_concurrent_creates_never_overspend(
    user, workspace, sandbox, settings, store_name, kind, no_dispatch
):
    settings.GENPIPE_BUDGET_STORE = store_name
    config = _body(kind, 0)["config"]
    estimate = cost_estimate(sandbox, _op(kind), config["prompt"], config)
    budget = make_budget(workspace, str(estimate * ALLOWED))
    limit = to_micros(budget.limit_usd)
    codes: list[int] = []
    lock = threading.Lock()
    done = threading.Event()
    samples: list[int] = []
    barrier = threading.Barrier(THREADS + 1)

    def worker(offset: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            for index in range(offset, CREATES, THREADS):
                response = client.post(URL, _body(kind, index), format="json")
                if response.status_code == 402:
                    assert response.json()["error"]["code"] == "budget_exceeded"
                with lock:
                    codes.append(response.status_code)
        finally:
            connection.close()

    def sampler() -> None:
        try:
            barrier.wait()
            while not done.is_set():
                budget.refresh_from_db()
                spent, reserved = store_figures(budget, now=timezone.now())
                samples.append(spent + reserved)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    watcher = threading.Thread(target=sampler)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()

    assert len(codes) == CREATES
    accepted = codes.count(201)
    assert codes.count(402) == CREATES - accepted
    assert 0 < accepted <= ALLOWED
    assert accepted == ALLOWED  # every refusal was needed: nothing leaked
    assert samples and max(samples) <= limit
    assert Generation.objects.count() == accepted
    for generation_id in no_dispatch:  # the worker drains the queue
        process_generation.delay(generation_id)
    assert set(Generation.objects.values_list("status", flat=True)) == {"completed"}
    budget.refresh_from_db()
    spent, reserved = store_figures(budget, now=timezone.now())
    actual = sum(to_micros(a.cost_usd) for a in ProviderAttempt.objects.all())
    assert reserved == 0
    assert spent == actual > 0


def _op(kind: str) -> str:
    from generations.operations import operation_for

    return operation_for(OPERATIONS[kind]["generation_type"])
