"""The sweeper: stale pending rows are re-enqueued, lost processing rows run again, once."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from generations.models import Generation, GenerationEvent, ProviderAttempt, Status
from generations.services import sweeper
from generations.services.lifecycle import generation_transition
from generations.services.sweeper import generations_sweep, processing_deadline
from generations.tasks import sweep_generations
from genpipe_site.celery import app as celery_app
from tests.builders import create_body
from tests.embedded import embedded_site

URL = "/api/v1/generations"


def _make(api: Any, label: str, **updates: Any) -> Generation:
    """A pending generation (its task never runs: on_commit does not fire here)."""
    response = api.post(URL, create_body(config={"prompt": label}), format="json")
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get(id=response.json()["id"])
    if updates.pop("processing", False):
        generation_transition(generation_id=generation.id, to_status=Status.PROCESSING)
    Generation.objects.filter(id=generation.id).update(**updates)
    generation.refresh_from_db()
    return generation


@pytest.fixture
def scene(api) -> dict[str, Generation]:
    now = timezone.now()
    old = now - timedelta(minutes=5)
    lost = now - processing_deadline() - timedelta(seconds=1)
    return {
        "stale": _make(api, "stale", enqueued_at=old),
        "stale_no_enqueue": _make(api, "never enqueued", enqueued_at=None, created_at=old),
        "fresh": _make(api, "fresh", enqueued_at=now - timedelta(seconds=10)),
        "scheduled": _make(api, "later", enqueued_at=old, scheduled_at=now + timedelta(hours=1)),
        "just_due": _make(api, "due", enqueued_at=old, scheduled_at=now - timedelta(seconds=1)),
        "lost": _make(api, "lost", processing=True, started_at=lost),
        "working": _make(api, "working", processing=True, started_at=now - timedelta(seconds=30)),
    }


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []

    def record(*, generation_id: str, **_: Any) -> None:
        sent.append(generation_id)

    def follow_up(*, generation_id: str, outcome: Any, **_: Any) -> None:
        sent.append(f"{generation_id}#{outcome.next_attempt}")

    monkeypatch.setattr(sweeper, "generation_enqueue", record)
    monkeypatch.setattr(sweeper, "generation_follow_up", follow_up)
    return sent


def _ids(rows: list[Any]) -> set[str]:
    return {row.id for row in rows}


def _snapshot() -> list[tuple[Any, ...]]:
    return list(
        Generation.objects.order_by("id").values_list("id", "status", "enqueued_at", "error_code")
    )


def test_dry_run_lists_what_would_happen_and_changes_nothing(scene, enqueued):
    before, events = _snapshot(), GenerationEvent.objects.count()
    result = generations_sweep(now=timezone.now(), dry_run=True)
    assert _ids(result.requeued) == {str(scene["stale"].id), str(scene["stale_no_enqueue"].id)}
    assert _ids(result.recovered) == {str(scene["lost"].id)}
    assert (_snapshot(), GenerationEvent.objects.count(), enqueued) == (before, events, [])


def test_sweep_requeues_stale_pending_and_runs_lost_processing_again(scene, enqueued):
    now = timezone.now()
    result = generations_sweep(now=now)
    stale = {str(scene["stale"].id), str(scene["stale_no_enqueue"].id)}
    assert _ids(result.requeued) == stale
    assert _ids(result.recovered) == {str(scene["lost"].id)}
    assert set(enqueued) == stale | {f"{scene['lost'].id}#2"}
    for key in ("stale", "stale_no_enqueue"):
        row = Generation.objects.get(id=scene[key].id)
        assert (row.status, row.enqueued_at) == ("pending", now)
    lost = Generation.objects.get(id=scene["lost"].id)
    assert (lost.status, lost.next_attempt_at) == ("processing", now)
    assert lost.deadline_at > now  # the re-run has its own deadline
    for key in ("fresh", "scheduled", "just_due"):
        assert Generation.objects.get(id=scene[key].id).status == "pending"
    assert Generation.objects.get(id=scene["working"].id).status == "processing"

    again = generations_sweep(now=now + timedelta(seconds=1))
    assert (again.requeued, again.recovered, again.failed) == ([], [], [])


def test_a_lost_generation_with_its_budget_spent_fails_worker_lost(api, enqueued):
    now = timezone.now()
    lost = _make(
        api,
        "spent",
        processing=True,
        attempt_count=3,  # max_retries 2: attempts 1..3 were all used
        deadline_at=now - timedelta(seconds=1),
    )
    ProviderAttempt.objects.create(
        generation=lost,
        provider_id="sandbox",
        attempt_number=3,
        operation_type=lost.operation_type,
        started_at=now - timedelta(minutes=3),
    )
    result = generations_sweep(now=now)
    assert _ids(result.failed) == {str(lost.id)}
    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == ("failed", "worker_lost")
    event = lost.events.order_by("-id").first()
    assert (event.from_status, event.to_status, event.actor) == ("processing", "failed", "worker")
    attempt = ProviderAttempt.objects.get(generation=lost)
    assert (attempt.outcome, attempt.error_code) == ("abandoned", "worker_lost")
    assert attempt.finished_at == now
    assert enqueued == []


def test_a_scheduled_generation_is_swept_once_it_is_overdue(scene, enqueued):
    later = scene["scheduled"].scheduled_at + sweeper.PENDING_AFTER + timedelta(seconds=1)
    result = generations_sweep(now=later, processing_after=timedelta(days=1))
    assert str(scene["scheduled"].id) in _ids(result.requeued)
    assert str(scene["just_due"].id) in _ids(result.requeued)


def test_a_processing_row_that_finishes_meanwhile_is_a_lost_race(scene, enqueued, monkeypatch):
    real = sweeper.generation_recover

    def finish_first(**kwargs: Any) -> Any:
        generation = kwargs["generation"]
        generation_transition(
            generation_id=generation.id, to_status=Status.COMPLETED, actor="worker"
        )
        return real(**kwargs)

    monkeypatch.setattr(sweeper, "generation_recover", finish_first)
    result = generations_sweep(now=timezone.now())
    assert (result.recovered, result.failed, result.lost_races) == ([], [], 1)
    assert Generation.objects.get(id=scene["lost"].id).status == "completed"
    assert not [sent for sent in enqueued if "#" in sent]


def test_limit_caps_each_half_of_the_run(scene, enqueued):
    result = generations_sweep(now=timezone.now(), limit=1)
    assert (len(result.requeued), len(result.recovered)) == (1, 1)
    assert list(enqueued) == [str(scene["stale_no_enqueue"].id), f"{scene['lost'].id}#2"]


def test_requeued_generation_is_processed_after_commit(scene, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generations_sweep(now=timezone.now())
    assert Generation.objects.get(id=scene["stale"].id).status == "completed"


def test_command_dry_run_and_real_run(scene, enqueued):
    out = io.StringIO()
    call_command("sweep_generations", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Would re-enqueue 2 pending generations; would recover 1 lost processing" in text
    assert re.search(rf"re-enqueue {scene['stale'].id} \(pending, enqueued 30\d s ago\)", text)
    assert f"recover {scene['lost'].id} (processing, claimed" in text
    assert enqueued == []
    out = io.StringIO()
    call_command("sweep_generations", stdout=out)
    assert (
        "Re-enqueued 2 pending generations; recovered 1 lost processing generation "
        "(next attempt enqueued); failed 0 generations"
    ) in out.getvalue()
    assert len(enqueued) == 3


def test_command_thresholds_are_options(scene, enqueued):
    out = io.StringIO()
    call_command("sweep_generations", "--dry-run", "--pending-after", "5", stdout=out)
    assert "Would re-enqueue 3 pending generations" in out.getvalue()  # "fresh" is 10 s old
    with pytest.raises(CommandError):
        call_command("sweep_generations", "--pending-after", "-1")


def test_processing_after_recovers_a_running_attempt_before_its_deadline(api, enqueued):
    """An operator who knows the worker died need not wait for the attempt's deadline."""
    now = timezone.now()
    running = _make(
        api,
        "running",
        processing=True,
        attempt_count=1,
        claimed_at=now - timedelta(seconds=20),
        deadline_at=now + timedelta(minutes=2),
    )
    assert generations_sweep(now=now).recovered == []
    result = generations_sweep(now=now, processing_after=timedelta(seconds=10))
    assert _ids(result.recovered) == {str(running.id)}
    assert enqueued == [f"{running.id}#2"]


def test_a_generation_waiting_for_its_retry_is_never_swept(api, enqueued):
    """A long Retry-After: nothing happens before the due time, whatever the options."""
    now = timezone.now()
    waiting = _make(
        api,
        "waiting",
        processing=True,
        attempt_count=1,
        claimed_at=now - timedelta(hours=1),
        started_at=now - timedelta(hours=1),
        next_attempt_at=now + timedelta(seconds=200),
        deadline_at=now + timedelta(seconds=200 + 150),
    )
    for after in (None, timedelta(seconds=1)):
        result = generations_sweep(now=now, pending_after=timedelta(0), processing_after=after)
        assert (result.recovered, result.failed) == ([], [])
    assert Generation.objects.get(id=waiting.id).status == "processing"
    due = now + timedelta(seconds=200)
    assert generations_sweep(now=due + timedelta(seconds=1)).recovered == []
    lost = generations_sweep(now=due + timedelta(seconds=151))  # its task never came
    assert _ids(lost.recovered) == {str(waiting.id)}
    assert enqueued == [f"{waiting.id}#2"]


def test_task_runs_the_sweep_and_beat_schedules_it_every_minute(scene, enqueued):
    assert sweep_generations.delay().get() == {
        "requeued": 2,
        "recovered": 1,
        "failed": 0,
        "lost_races": 0,
    }
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    entries = [entry for entry in schedule if entry["task"] == "generations.sweep"]
    assert len(entries) == 1
    assert entries[0]["schedule"] == 60
    assert "generations.sweep" in celery_app.tasks


def test_sweep_as_a_subprocess_on_the_embedded_default(tmp_path):
    site = embedded_site(tmp_path)
    site.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from generations.models import Generation, Workspace\n"
        "ws = Workspace.objects.create(slug='ops', name='Ops')\n"
        "old = timezone.now() - timedelta(minutes=10)\n"
        "Generation.objects.create(workspace=ws, provider_id='sandbox', operation_type="
        "'dialogue', purpose='adaptive', strategy='always', reproducible_hash='x' * 64,"
        " enqueued_at=old)\n"
    )
    dry = site.manage("sweep_generations", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would re-enqueue 1 pending generation; would recover 0" in dry.stdout
    real = site.manage("sweep_generations")
    assert real.returncode == 0, real.stderr
    assert "Re-enqueued 1 pending generation; recovered 0" in real.stdout
    again = site.manage("sweep_generations")
    assert "Re-enqueued 0 pending generations" in again.stdout


def test_processing_is_judged_by_its_attempt_deadline_when_it_has_one(api, enqueued):
    now = timezone.now()
    overdue = _make(
        api,
        "overdue",
        status=Status.PROCESSING,
        started_at=now,
        deadline_at=now - timedelta(seconds=1),
    )
    waiting = _make(
        api,
        "waiting",
        status=Status.PROCESSING,
        started_at=now - timedelta(hours=3),
        deadline_at=now + timedelta(minutes=5),
    )
    result = generations_sweep(now=now)
    assert _ids(result.recovered) == {str(overdue.id)}
    assert Generation.objects.get(id=waiting.id).status == Status.PROCESSING
