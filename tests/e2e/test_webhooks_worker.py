"""Webhooks through a real Celery worker: a generation's every transition reaches a
local receiver, signed, with failed attempts retried by the worker's own countdowns."""

from __future__ import annotations

import pytest

from tests.builders import create_body
from tests.e2e.test_worker import worker_queue  # noqa: F401 (the fixture)
from tests.webhooks.receiver import receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def webhook_worker(monkeypatch, settings, request):
    """The worker (and this process) allow the local receiver and retry within 0.2 s."""
    for name, value in (
        ("GENPIPE_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("GENPIPE_WEBHOOK_RETRY_SCHEDULE", "0.2,0.2,0.2"),
    ):
        monkeypatch.setenv(name, value)
    settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = True
    settings.GENPIPE_WEBHOOK_RETRY_SCHEDULE = "0.2,0.2,0.2"
    return request.getfixturevalue("worker_queue")


def test_a_real_worker_delivers_every_transition_and_retries_failures(api, webhook_worker):
    # The first two requests fail; every delivery must still arrive, once successfully.
    with receiver(answers=[500, 500]) as hook:
        created = api.post("/api/v1/webhooks", {"url": hook.url}, format="json").json()
        generation = api.post("/api/v1/generations", create_body(), format="json").json()
        received = hook.wait_for(5, timeout=45)
    bodies = [r.verify(created["secret"]) for r in received]
    succeeded = [(r, b) for r, b in zip(received, bodies, strict=True) if r.status == 200]
    # Deliveries of different events are independent (a retry overtakes nothing and waits
    # for nothing), so receivers order by event_id: it follows the transitions.
    succeeded.sort(key=lambda pair: pair[1]["data"]["event_id"])
    assert [b["type"] for _, b in succeeded] == [
        "generation.pending",
        "generation.processing",
        "generation.completed",
    ]
    assert {b["data"]["generation_id"] for b in bodies} == {generation["id"]}
    # A retried delivery keeps its webhook-id: 3 ids across 5 requests.
    ids = [r.headers["webhook-id"] for r in received]
    assert len(set(ids)) == 3
    failed_ids = {r.headers["webhook-id"] for r in received if r.status == 500}
    assert failed_ids <= {r.headers["webhook-id"] for r, _ in succeeded}
