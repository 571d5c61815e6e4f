"""Work interrupted by a crash runs again, exactly once, and no attempt stays running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

from django.utils import timezone

from generations.models import Generation, ProviderAttempt
from generations.services.processing import generation_process
from generations.services.recovery import interrupted_run
from tests.builders import create_body

URL = "/api/v1/generations"
HOST = socket.gethostname()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _interrupted(api: Any, *, claimed_by: str, attempt: int = 1) -> Generation:
    """A generation whose worker claimed ``attempt``, started the call and vanished."""
    body = create_body(config={"prompt": "interrupted", "strategy": "always"})
    generation = Generation.objects.get(id=api.post(URL, body, format="json").json()["id"])
    now = timezone.now()
    Generation.objects.filter(id=generation.id).update(
        status="processing",
        started_at=now,
        claimed_at=now,
        attempt_count=attempt,
        claimed_by=claimed_by,
        deadline_at=now + timezone.timedelta(minutes=3),
    )
    ProviderAttempt.objects.create(
        generation=generation,
        provider_id="sandbox",
        attempt_number=attempt,
        operation_type=generation.operation_type,
        started_at=now,
    )
    return generation


def _attempts(generation: Generation) -> list[tuple[int, str]]:
    rows = ProviderAttempt.objects.filter(generation=generation).order_by("attempt_number")
    return list(rows.values_list("attempt_number", "outcome"))


def test_a_redelivery_after_the_pool_child_was_killed_runs_the_generation_again(api):
    generation = _interrupted(api, claimed_by=f"task-1:0@{HOST}:{_dead_pid()}")
    outcome = generation_process(generation_id=str(generation.id), delivery="task-1:0")
    assert (outcome.status, outcome.next_attempt, outcome.delay_s) == ("retry", 2, 0)
    assert _attempts(generation) == [(1, "abandoned")]
    assert generation_process(generation_id=str(generation.id), attempt=2).status == "completed"
    assert _attempts(generation) == [(1, "abandoned"), (2, "succeeded")]


def test_two_racing_redeliveries_run_it_once(api):
    generation = _interrupted(api, claimed_by=f"task-1:0@{HOST}:{_dead_pid()}")
    first = generation_process(generation_id=str(generation.id), delivery="task-1:0")
    second = generation_process(generation_id=str(generation.id), delivery="task-1:0")
    assert {first.status, second.status} == {"retry"}
    results = [
        generation_process(generation_id=str(generation.id), attempt=outcome.next_attempt).status
        for outcome in (first, second)
    ]
    assert sorted(results) == ["completed", "skipped"]
    assert _attempts(generation) == [(1, "abandoned"), (2, "succeeded")]


def test_a_task_retried_after_a_database_error_recovers_its_attempt(api):
    """The worker is alive (this very process) but the database went away mid-task."""
    generation = _interrupted(api, claimed_by=f"task-1:0@{HOST}:{os.getpid()}")
    outcome = generation_process(generation_id=str(generation.id), delivery="task-1:1")
    assert (outcome.status, outcome.next_attempt) == ("retry", 2)


def test_a_duplicate_while_the_claimant_still_runs_changes_nothing(api):
    alive = os.getppid()  # another live process on this host holds the claim
    generation = _interrupted(api, claimed_by=f"task-1:0@{HOST}:{alive}")
    assert generation_process(generation_id=str(generation.id), delivery="task-1:0").status == (
        "skipped"
    )
    other = _interrupted(api, claimed_by=f"task-2:0@elsewhere:{_dead_pid()}")
    assert generation_process(generation_id=str(other.id), delivery="task-2:0").status == (
        "skipped"  # another machine: the sweeper decides, by the deadline
    )
    assert _attempts(generation) == [(1, "running")]


def test_a_crash_on_the_last_attempt_fails_worker_lost_and_abandons_it(api):
    generation = _interrupted(api, claimed_by=f"task-1:0@{HOST}:{_dead_pid()}", attempt=3)
    outcome = generation_process(generation_id=str(generation.id), attempt=3, delivery="task-1:0")
    assert outcome.status == "failed"
    generation.refresh_from_db()
    assert (generation.status, generation.error_code) == ("failed", "worker_lost")
    assert generation.latency_ms is None
    assert _attempts(generation) == [(3, "abandoned")]


def test_interrupted_run_reads_only_its_own_claims():
    dead = _dead_pid()
    assert interrupted_run(f"t:0@{HOST}:{dead}", "t:0")
    assert interrupted_run(f"t:0@{HOST}:{os.getpid()}", "t:0")
    assert interrupted_run(f"t:0@other-host:{dead}", "t:2")  # retried: that run is over
    assert not interrupted_run(f"t:0@{HOST}:{dead}", "u:0")  # another task
    assert not interrupted_run(f"t:0@{HOST}:{dead}", "")
    assert not interrupted_run("", "t:0")
    assert not interrupted_run(f"t:0@{HOST}:²", "t:0")
