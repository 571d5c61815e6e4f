"""The one retry-wait policy: how long to wait, how often to retry, and when it is due.

Every "try again later" of a processing generation (a transient failure's backoff, a
provider's ``Retry-After``, an open circuit, a failover, an asynchronous job's next poll)
goes through ``generation_wait``, which records the due time in ``next_attempt_at`` and,
for anything but a poll, moves the sweeper's ``deadline_at`` past it. The sweeper never
touches a generation before its deadline, so a long wait is never mistaken for a lost
worker; once the deadline passes with nothing done, the task is lost and the sweeper
recovers the generation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings

from ..models import Generation, Provider, Status

DEFAULT_MAX_RETRIES = 2
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
POLL_INTERVAL_S = 2.0
# An attempt is overdue this long after its own timeout (the sweeper's deadline).
DEADLINE_MARGIN = timedelta(seconds=90)
WORKER_LOST = "worker_lost"


class Step(StrEnum):
    """What the task does next with a generation (``tasks`` maps each to Celery)."""

    MISSING = "missing"  # no such generation: nothing to do
    SKIPPED = "skipped"  # another delivery has (or had) this attempt
    SCHEDULED = "scheduled"  # pending with a future scheduled_at: run attempt 1 later
    COMPLETED = "completed"
    FAILED = "failed"
    DISCARDED = "discarded"  # cancelled meanwhile: the result was thrown away
    RETRY = "retry"  # run attempt ``next_attempt`` after ``delay_s``
    SUBMITTED = "submitted"  # an asynchronous job was submitted: poll it after ``delay_s``
    RUNNING = "running"  # the job still runs: poll attempt ``next_attempt`` after ``delay_s``


@dataclass(frozen=True)
class ProcessOutcome:
    """What the task should do next: ``status`` and, for a retry or a poll, when
    (``delay_s``) and which attempt (``next_attempt``)."""

    status: Step | str
    delay_s: float | None = None
    next_attempt: int | None = None


def timeout_s(generation: Generation) -> float | None:
    """The node's ``fallback.timeout_ms`` in seconds, when it set one."""
    timeout_ms = generation.node_fallback.get("timeout_ms")
    return float(timeout_ms) / 1000 if isinstance(timeout_ms, int | float) else None


def attempt_deadline(generation: Generation, provider: Provider, start: datetime) -> datetime:
    """When an attempt starting at ``start`` is overdue: its timeout plus a margin."""
    return (
        start
        + timedelta(seconds=timeout_s(generation) or provider.read_timeout_s)
        + (DEADLINE_MARGIN)
    )


def max_retries(generation: Generation, provider: Provider) -> int:
    """Retries per provider: the node's ``fallback.max_retries``, else the provider's."""
    node = generation.node_fallback.get("max_retries")
    if isinstance(node, int):
        return node
    configured = (provider.settings or {}).get("max_retries")
    return int(configured) if isinstance(configured, int) else DEFAULT_MAX_RETRIES


def backoff_s(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's ``Retry-After`` is a floor."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, retry_number - 1))
    delay = random.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, BACKOFF_CAP_S)


def poll_interval_s(provider: Provider) -> float:
    value = (provider.settings or {}).get("poll_interval_s")
    return float(value) if isinstance(value, int | float) and value > 0 else POLL_INTERVAL_S


def generation_wait(
    *,
    generation: Generation,
    delay_s: float,
    next_attempt: int,
    now: datetime,
    poll: bool = False,
) -> ProcessOutcome:
    """Record that attempt (or poll) ``next_attempt`` is due in ``delay_s`` seconds.

    The wait is capped at ``GENERATION_MAX_COUNTDOWN_S`` (the longest countdown a task
    is published with), so the recorded due time is exactly when the task runs. Writes
    ``next_attempt_at`` and, unless it is a poll (whose deadline is the job's own), moves
    ``deadline_at`` to the due time plus the attempt's timeout and margin. Returns the
    outcome the task turns into the delayed message, or ``SKIPPED`` when the generation
    is no longer processing (cancelled meanwhile: nothing to wait for).
    """
    delay = min(max(0.0, float(delay_s)), float(settings.GENERATION_MAX_COUNTDOWN_S))
    due = now + timedelta(seconds=delay)
    fields: dict[str, object] = {"next_attempt_at": due, "updated_at": now}
    if not poll:
        fields["deadline_at"] = attempt_deadline(generation, generation.provider, due)
    if not Generation.objects.filter(id=generation.id, status=Status.PROCESSING).update(**fields):
        return ProcessOutcome(Step.SKIPPED)
    return ProcessOutcome(Step.RUNNING if poll else Step.RETRY, delay, next_attempt)
