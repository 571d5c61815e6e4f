"""The sweeper: stale pending rows are re-enqueued, lost processing rows fail, once."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from generations.models import Generation, GenerationEvent, Status
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

    monkeypatch.setattr(sweeper, "generation_enqueue", record)
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
    assert _ids(result.failed) == {str(scene["lost"].id)}
    assert (_snapshot(), GenerationEvent.objects.count(), enqueued) == (before, events, [])


def test_sweep_requeues_stale_pending_and_fails_lost_processing(scene, enqueued):
    now = timezone.now()
    result = generations_sweep(now=now)
    stale = {str(scene["stale"].id), str(scene["stale_no_enqueue"].id)}
    assert _ids(result.requeued) == stale
    assert set(enqueued) == stale
    for key in ("stale", "stale_no_enqueue"):
        row = Generation.objects.get(id=scene[key].id)
        assert (row.status, row.enqueued_at) == ("pending", now)
    lost = Generation.objects.get(id=scene["lost"].id)
    assert (lost.status, lost.error_code) == ("failed", "worker_lost")
    event = lost.events.order_by("-at", "-id").first()
    assert (event.from_status, event.to_status, event.actor) == ("processing", "failed", "sweeper")
    for key in ("fresh", "scheduled", "just_due"):
        assert Generation.objects.get(id=scene[key].id).status == "pending"
    assert Generation.objects.get(id=scene["working"].id).status == "processing"

    again = generations_sweep(now=now + timedelta(seconds=1))
    assert (again.requeued, again.failed, again.lost_races) == ([], [], 0)


def test_a_scheduled_generation_is_swept_once_it_is_overdue(scene, enqueued):
    later = scene["scheduled"].scheduled_at + sweeper.PENDING_AFTER + timedelta(seconds=1)
    result = generations_sweep(now=later, processing_after=timedelta(days=1))
    assert str(scene["scheduled"].id) in _ids(result.requeued)
    assert str(scene["just_due"].id) in _ids(result.requeued)


def test_a_processing_row_that_finishes_meanwhile_is_a_lost_race(scene, enqueued, monkeypatch):
    real = sweeper.generation_transition

    def finish_first(**kwargs: Any) -> Any:
        real(generation_id=kwargs["generation_id"], to_status=Status.COMPLETED, actor="worker")
        return real(**kwargs)

    monkeypatch.setattr(sweeper, "generation_transition", finish_first)
    result = generations_sweep(now=timezone.now())
    assert (result.failed, result.lost_races) == ([], 1)
    assert Generation.objects.get(id=scene["lost"].id).status == "completed"


def test_limit_caps_each_half_of_the_run(scene, enqueued):
    result = generations_sweep(now=timezone.now(), limit=1)
    assert (len(result.requeued), len(result.failed)) == (1, 1)
    assert list(enqueued) == [str(scene["stale_no_enqueue"].id)]  # oldest first


def test_requeued_generation_is_processed_after_commit(scene, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generations_sweep(now=timezone.now())
    assert Generation.objects.get(id=scene["stale"].id).status == "completed"


def test_command_dry_run_and_real_run(scene, enqueued):
    out = io.StringIO()
    call_command("sweep_generations", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Would re-enqueue 2 pending generations; would fail 1 lost processing" in text
    assert f"re-enqueue {scene['stale'].id} (pending, enqueued 300 s ago)" in text
    assert f"fail {scene['lost'].id} (processing, started" in text
    assert enqueued == []
    out = io.StringIO()
    call_command("sweep_generations", stdout=out)
    assert "Re-enqueued 2 pending generations; failed 1 lost processing generation" in (
        out.getvalue()
    )
    assert len(enqueued) == 2


def test_command_thresholds_are_options(scene, enqueued):
    out = io.StringIO()
    call_command("sweep_generations", "--dry-run", "--pending-after", "5", stdout=out)
    assert "Would re-enqueue 3 pending generations" in out.getvalue()  # "fresh" is 10 s old
    with pytest.raises(CommandError):
        call_command("sweep_generations", "--pending-after", "0")


def test_task_runs_the_sweep_and_beat_schedules_it_every_minute(scene, enqueued):
    assert sweep_generations.delay().get() == {"requeued": 2, "failed": 1, "lost_races": 0}
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
    assert "Would re-enqueue 1 pending generation; would fail 0" in dry.stdout
    real = site.manage("sweep_generations")
    assert real.returncode == 0, real.stderr
    assert "Re-enqueued 1 pending generation; failed 0" in real.stdout
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
    assert _ids(result.failed) == {str(overdue.id)}
    assert Generation.objects.get(id=waiting.id).status == Status.PROCESSING
