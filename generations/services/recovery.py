"""Work interrupted by a crash runs again, exactly once, within its retry budget.

A worker claims each attempt with a *delivery token* (the Celery task id and its retry
number) and its process (``host:pid``), stored in ``Generation.claimed_by``. When the
same task is delivered again while its generation is still ``processing`` at that
attempt, the earlier run is known to be over if the task was retried since (a database
error ended it), or if the claiming process is this one or no longer exists on this host
(the pool child was killed and Celery redelivered the message). Then, and when the sweeper
finds a generation past its deadline, ``generation_recover`` marks the unfinished attempt
``abandoned`` (it never stays ``running``) and schedules the next attempt if the retry
budget allows, else fails the generation ``worker_lost``. The next attempt's claim is the
usual conditional ``attempt_count = k → k + 1``, so two racing recoveries run it once.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from ..errors import InvalidTransition
from ..models import Generation, ProviderAttempt, Status
from .lifecycle import generation_transition
from .waits import WORKER_LOST, ProcessOutcome, Step, generation_wait, max_retries

logger = logging.getLogger("genpipe.worker")

__all__ = ["WORKER_LOST", "claimant", "generation_recover", "interrupted_run"]


def claimant(delivery: str) -> str:
    """What a claim records: ``<task id>:<retry number>@<host>:<pid>``."""
    return f"{delivery}@{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else 0


def interrupted_run(claimed_by: str, delivery: str) -> bool:
    """Is ``claimed_by`` an earlier run of this same task that is certainly over?"""
    if not delivery or "@" not in claimed_by:
        return False
    claimed_delivery, _, process = claimed_by.rpartition("@")
    task_id, _, retries = claimed_delivery.rpartition(":")
    my_task, _, my_retries = delivery.rpartition(":")
    if not task_id or task_id != my_task:
        return False
    if _number(retries) < _number(my_retries):
        return True  # that run raised and Celery retried the task
    host, _, pid = process.rpartition(":")
    if host != socket.gethostname() or not _number(pid):
        return False  # another machine: only the deadline tells (the sweeper)
    return _number(pid) == os.getpid() or not _alive(_number(pid))


def _attempts_before(generation: Generation) -> int:
    """Attempts spent on earlier providers (before a failover to the current one)."""
    if not generation.failover_from or generation.failover_from == generation.provider_id:
        return 0
    return ProviderAttempt.objects.filter(
        generation_id=generation.id, provider_id=generation.failover_from
    ).count()


def generation_recover(*, generation: Generation, now: datetime, reason: str) -> ProcessOutcome:
    """Pick up a ``processing`` generation whose worker is gone.

    Marks its unfinished synchronous attempts ``abandoned``; an asynchronous job that was
    submitted is polled again rather than abandoned. Then the next attempt is due now if
    the retry budget on this provider allows it (the outcome says so), else the generation
    fails with ``worker_lost`` (slot released, telemetry counted by the state machine).
    Returns ``SKIPPED`` when the generation is no longer processing.
    """
    attempt = generation.attempt_count
    if attempt == 0:  # claimed by an older release, which counted from the first retry
        Generation.objects.filter(id=generation.id, attempt_count=0).update(attempt_count=1)
        attempt = 1
    running = ProviderAttempt.objects.filter(
        generation_id=generation.id, outcome=ProviderAttempt.Outcome.RUNNING
    )
    job = running.filter(attempt_number=attempt).exclude(provider_job_id="").first()
    if job is not None:
        logger.warning("generation %s: polling its job again (%s)", generation.id, reason)
        return generation_wait(
            generation=generation, delay_s=0, next_attempt=attempt, now=now, poll=True
        )
    abandoned = running.update(
        outcome=ProviderAttempt.Outcome.ABANDONED,
        finished_at=now,
        error_code=WORKER_LOST,
        error_message=reason[:2000],
    )
    next_attempt = attempt + 1
    on_this_provider = next_attempt - _attempts_before(generation)
    if on_this_provider <= max_retries(generation, generation.provider) + 1:
        logger.warning(
            "generation %s: attempt %s abandoned (%s rows), attempt %s due now: %s",
            generation.id,
            attempt,
            abandoned,
            next_attempt,
            reason,
        )
        return generation_wait(generation=generation, delay_s=0, next_attempt=next_attempt, now=now)
    try:
        generation_transition(
            generation_id=generation.id,
            to_status=Status.FAILED,
            from_statuses=frozenset({Status.PROCESSING}),
            reason=f"{WORKER_LOST}: {reason}"[:255],
            actor="worker",
            now=now,
            fields={
                "error_code": WORKER_LOST,
                "error_message": (
                    f"The worker was lost during attempt {attempt} and the retry budget is "
                    f"spent ({reason})."
                ),
                "latency_ms": None,
            },
        )
    except InvalidTransition:
        return ProcessOutcome(Step.SKIPPED)
    return ProcessOutcome(Step.FAILED)
