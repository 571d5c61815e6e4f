"""The stale-generation sweep: nothing stays ``pending`` or ``processing`` forever.

- A ``pending`` generation whose task vanished (publish failed, broker lost the message) is
  re-enqueued once its last enqueue is older than ``pending_after`` and it is due
  (``scheduled_at`` empty, or passed by at least ``pending_after`` too, so a scheduled
  generation's own delayed task gets its chance first). Redelivery is harmless: the task
  claims with a conditional ``pending → processing``.
- A ``processing`` generation past its ``deadline_at`` (the worker sets it for every
  attempt and every wait: the due time plus the attempt's timeout and a margin, see
  ``services.waits``), or, without one, started longer ago than the task's hard time limit
  plus a margin, has no worker any more: ``generation_recover`` abandons its unfinished
  attempt and runs the next one within the retry budget (an asynchronous job is polled
  again); only a generation whose budget is spent fails with ``worker_lost``. A
  generation waiting for a due time still in the future is never touched.
  ``processing_after`` (the command's ``--processing-after``) also takes rows whose
  current attempt was claimed, or whose due time passed, longer ago than that.

Both halves take at most ``limit`` rows per run (oldest first); the next run takes the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from ..models import Generation, Status
from .dispatch import generation_enqueue, generation_follow_up
from .recovery import generation_recover
from .waits import WORKER_LOST, Step

__all__ = ["WORKER_LOST", "SweepResult", "SweptGeneration", "generations_sweep"]

BATCH_LIMIT = 500
PENDING_AFTER = timedelta(seconds=120)
PROCESSING_MARGIN = timedelta(seconds=60)


def processing_deadline() -> timedelta:
    """How long a generation may be ``processing``: the task hard limit plus a margin."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + PROCESSING_MARGIN


@dataclass(frozen=True)
class SweptGeneration:
    id: str
    status: str
    since: datetime  # last enqueue (pending) or start (processing)


@dataclass
class SweepResult:
    dry_run: bool
    requeued: list[SweptGeneration] = field(default_factory=list)
    recovered: list[SweptGeneration] = field(default_factory=list)  # next attempt enqueued
    failed: list[SweptGeneration] = field(default_factory=list)  # retry budget spent
    lost_races: int = 0  # rows another actor moved on before the sweep could


def _stale_pending(now: datetime, pending_after: timedelta) -> QuerySet[Generation]:
    cutoff = now - pending_after
    return (
        Generation.objects.filter(status=Status.PENDING)
        .filter(Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff))
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=cutoff))
        .order_by("created_at")
    )


def _stale_processing(now: datetime, processing_after: timedelta | None) -> QuerySet[Generation]:
    """Processing past its ``deadline_at``; legacy rows without one, started longer ago
    than the task limit plus a margin; with ``processing_after``, also rows whose attempt
    was claimed (or whose due time passed) longer ago than that — never one still waiting
    for a due time in the future."""
    lost = Q(deadline_at__lt=now) | Q(
        deadline_at__isnull=True, started_at__lt=now - processing_deadline()
    )
    if processing_after is not None:
        cutoff = now - processing_after
        lost |= Q(next_attempt_at__isnull=True, claimed_at__lt=cutoff) | Q(
            next_attempt_at__lt=cutoff
        )
    return (
        Generation.objects.filter(status=Status.PROCESSING)
        .filter(lost)
        .exclude(next_attempt_at__gt=now)
        .order_by("started_at")
    )


def _requeue(
    rows: list[tuple[str, int, datetime | None, datetime | None, datetime]],
    now: datetime,
    result: SweepResult,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    for index, (gid, priority, scheduled_at, enqueued_at, created_at) in enumerate(rows, 1):
        # Compare-and-set on enqueued_at: a concurrent sweep (or a worker claim) wins once.
        changed = Generation.objects.filter(
            id=gid, status=Status.PENDING, enqueued_at=enqueued_at
        ).update(enqueued_at=now)
        if changed:
            generation_enqueue(generation_id=str(gid), priority=priority, scheduled_at=scheduled_at)
            result.requeued.append(
                SweptGeneration(str(gid), Status.PENDING, enqueued_at or created_at)
            )
        else:
            result.lost_races += 1
        if progress is not None and (index % 100 == 0 or index == len(rows)):
            progress("requeued", index, len(rows))


def _recover_lost(
    rows: list[Generation],
    now: datetime,
    result: SweepResult,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    for index, generation in enumerate(rows, 1):
        since = generation.claimed_at or generation.started_at or now
        reason = (
            f"no worker finished attempt {generation.attempt_count} by its deadline "
            f"(claimed {int((now - since).total_seconds())} s ago)"
        )
        outcome = generation_recover(generation=generation, now=now, reason=reason)
        swept = SweptGeneration(str(generation.id), Status.PROCESSING, since)
        if outcome.status == Step.FAILED:
            result.failed.append(swept)
        elif outcome.status == Step.SKIPPED:
            result.lost_races += 1  # it finished (or was cancelled) meanwhile
        else:
            generation_follow_up(
                generation_id=str(generation.id), outcome=outcome, priority=generation.priority
            )
            result.recovered.append(swept)
        if progress is not None and (index % 100 == 0 or index == len(rows)):
            progress("recovered", index, len(rows))


def generations_sweep(
    *,
    now: datetime,
    dry_run: bool = False,
    pending_after: timedelta = PENDING_AFTER,
    processing_after: timedelta | None = None,
    limit: int = BATCH_LIMIT,
    progress: Callable[[str, int, int], None] | None = None,
) -> SweepResult:
    """Re-enqueue stale ``pending`` generations and recover lost ``processing`` ones.

    ``processing_after`` (optional) widens what counts as lost (module docstring).
    ``dry_run`` only reports (lost rows are listed under ``recovered``). Side effects
    otherwise: ``enqueued_at = now`` and a ``process_generation`` task published after
    commit per re-enqueued row; per lost row, its unfinished attempt ``abandoned`` and the
    next attempt (or poll) published, or, with the retry budget spent, a ``processing →
    failed`` transition with ``error_code = worker_lost`` (audit event, slot release and
    telemetry included). Safe to run concurrently with workers and with itself: rows are locked with
    ``SKIP LOCKED`` where the database has it, every write is conditional, and a row some
    other actor moved on is counted in ``lost_races``, never overwritten.
    ``progress(phase, done, total)`` reports long runs.
    """
    result = SweepResult(dry_run=dry_run)
    fields = ("id", "priority", "scheduled_at", "enqueued_at", "created_at")

    pending = _stale_pending(now, pending_after)
    if dry_run:
        rows = list(pending.values_list(*fields)[:limit])
        result.requeued = [SweptGeneration(str(r[0]), Status.PENDING, r[3] or r[4]) for r in rows]
    else:
        with transaction.atomic():
            if connection.features.has_select_for_update_skip_locked:
                # Concurrent sweeps split the rows instead of queueing behind each other.
                pending = pending.select_for_update(skip_locked=True)
            _requeue(list(pending.values_list(*fields)[:limit]), now, result, progress)

    stale = list(_stale_processing(now, processing_after).select_related("provider")[:limit])
    if dry_run:
        result.recovered = [
            SweptGeneration(str(g.id), Status.PROCESSING, g.claimed_at or g.started_at or now)
            for g in stale
        ]
    else:
        _recover_lost(stale, now, result, progress)
    return result
