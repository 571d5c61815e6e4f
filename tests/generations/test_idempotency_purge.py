"""Idempotency-Key records are purged once past their 24 hours, in bounded batches."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from generations.models import IdempotencyRecord
from generations.services.idempotency import KEY_TTL, idempotency_keys_purge
from generations.tasks import purge_idempotency_keys
from tests.builders import create_body

URL = "/api/v1/generations"


def _records(workspace, *, expired: int, fresh: int) -> None:
    now = timezone.now()
    for i in range(expired):
        IdempotencyRecord.objects.create(
            workspace=workspace,
            key=f"old-{i}",
            fingerprint="f",
            created_at=now - KEY_TTL - timedelta(minutes=i + 1),
        )
    for i in range(fresh):
        IdempotencyRecord.objects.create(
            workspace=workspace,
            key=f"new-{i}",
            fingerprint="f",
            created_at=now - timedelta(hours=1),
        )


def test_purge_deletes_only_expired_records_in_batches(workspace):
    _records(workspace, expired=5, fresh=2)
    assert idempotency_keys_purge(batch=2) == 5
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-0", "new-1"]
    assert idempotency_keys_purge(batch=2) == 0


def test_purge_is_bounded_per_call_and_takes_the_oldest_first(workspace):
    _records(workspace, expired=5, fresh=0)
    assert idempotency_keys_purge(batch=2, max_batches=1) == 2
    remaining = set(IdempotencyRecord.objects.values_list("key", flat=True))
    assert remaining == {"old-0", "old-1", "old-2"}  # old-4 and old-3 were the oldest


def test_an_expired_key_is_a_new_request_whether_or_not_it_was_purged(api, workspace):
    body = create_body(config={"strategy": "always"})
    first = api.post(URL, body, format="json", headers={"Idempotency-Key": "k"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - KEY_TTL - timedelta(seconds=1))
    again = api.post(URL, body, format="json", headers={"Idempotency-Key": "k"})
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert purge_idempotency_keys.delay().get() == 0  # the key was renewed by the replay
    IdempotencyRecord.objects.update(created_at=timezone.now() - KEY_TTL - timedelta(seconds=1))
    assert purge_idempotency_keys.delay().get() == 1
    third = api.post(URL, body, format="json", headers={"Idempotency-Key": "k"})
    assert third.status_code == 201 and third.json()["id"] != again.json()["id"]


def test_beat_purges_every_hour():
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "generations.purge_idempotency_keys"
    ]
    assert len(entries) == 1 and entries[0]["schedule"] == 3600
