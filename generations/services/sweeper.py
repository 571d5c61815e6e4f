"""The stale-generation sweep: nothing stays ``pending`` or ``processing`` forever.

- A ``pending`` generation whose task vanished (publish failed, broker lost the message) is
  re-enqueued once its last enqueue is older than ``pending_after`` and it is due
  (``scheduled_at`` empty, or passed by at least ``pending_after`` too, so a scheduled
  generation's own delayed task gets its chance first). Redelivery is harmless: the task
  claims with a conditional ``pending → processing``.
- A ``processing`` generation past its ``deadline_at`` (the worker sets it for every
  attempt, retry wait and asynchronous job: the attempt's timeout plus a margin), or,
  without one, started longer ago than the task's hard time limit plus a margin, has no
  worker any more: it fails with ``worker_lost`` through the lifecycle, so the slot is
  released and telemetry counts it.

Both halves take at most ``limit`` rows per run (oldest first); the next run takes the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from ..errors import InvalidTransition
from ..models import Generation, Status
from .dispatch import generation_enqueue
from .lifecycle import generation_transition

BATCH_LIMIT = 500
PENDING_AFTER = timedelta(seconds=120)
PROCESSING_MARGIN = timedelta(seconds=60)
WORKER_LOST = "worker_lost"


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
    failed: list[SweptGeneration] = field(default_factory=list)
    lost_races: int = 0  # rows another actor moved on before the sweep could


def _stale_pending(now: datetime, pending_after: timedelta) -> QuerySet[Generation]:
    cutoff = now - pending_after
    return (
        Generation.objects.filter(status=Status.PENDING)
        .filter(Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff))
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=cutoff))
        .order_by("created_at")
    )


def _stale_processing(now: datetime, processing_after: timedelta) -> QuerySet[Generation]:
    """Processing past its attempt's ``deadline_at`` (set by the worker for each attempt,
    retry wait and asynchronous job), or, without one, started longer ago than
    ``processing_after``."""
    return (
        Generation.objects.filter(status=Status.PROCESSING)
        .filter(
            Q(deadline_at__lt=now)
            | Q(deadline_at__isnull=True, started_at__lt=now - processing_after)
        )
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


def _fail_lost(
    rows: list[tuple[Any, datetime | None]],
    now: datetime,
    processing_after: timedelta,
    result: SweepResult,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    seconds = int(processing_after.total_seconds())
    for index, (gid, started_at) in enumerate(rows, 1):
        try:
            generation_transition(
                generation_id=gid,
                to_status=Status.FAILED,
                from_statuses=frozenset({Status.PROCESSING}),
                reason=f"{WORKER_LOST}: processing for more than {seconds} s",
                actor="sweeper",
                now=now,
                fields={
                    "error_code": WORKER_LOST,
                    "error_message": (
                        f"No worker finished this generation within {seconds} s of its "
                        "start; the worker was lost."
                    ),
                },
            )
        except InvalidTransition:
            result.lost_races += 1  # it finished (or was cancelled) meanwhile
        else:
            result.failed.append(SweptGeneration(str(gid), Status.PROCESSING, started_at or now))
        if progress is not None and (index % 100 == 0 or index == len(rows)):
            progress("failed", index, len(rows))


def generations_sweep(
    *,
    now: datetime,
    dry_run: bool = False,
    pending_after: timedelta = PENDING_AFTER,
    processing_after: timedelta | None = None,
    limit: int = BATCH_LIMIT,
    progress: Callable[[str, int, int], None] | None = None,
) -> SweepResult:
    """Re-enqueue stale ``pending`` generations and fail lost ``processing`` ones.

    ``processing_after`` defaults to ``processing_deadline()``. ``dry_run`` only reports.
    Side effects otherwise: ``enqueued_at = now`` and a ``process_generation`` task
    published after commit per re-enqueued row; a ``processing → failed`` transition with
    ``error_code = worker_lost`` per lost row (its audit event, slot release and telemetry
    included). Safe to run concurrently with workers and with itself: rows are locked with
    ``SKIP LOCKED`` where the database has it, every write is conditional, and a row some
    other actor moved on is counted in ``lost_races``, never overwritten.
    ``progress(phase, done, total)`` reports long runs.
    """
    processing_after = processing_after or processing_deadline()
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

    stale = list(_stale_processing(now, processing_after).values_list("id", "started_at")[:limit])
    if dry_run:
        result.failed = [SweptGeneration(str(g), Status.PROCESSING, at or now) for g, at in stale]
    else:
        _fail_lost(stale, now, processing_after, result, progress)
    return result
