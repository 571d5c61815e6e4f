"""The generation state machine: the only place a generation's status changes.

``pending → processing → completed | failed``, ``pending → cancelled``,
``processing → cancelled``. Terminal states never change again. A transition is a
conditional UPDATE (``WHERE status = <current>``) plus its audit event in one transaction;
zero rows updated means another actor won, and the loser gets ``InvalidTransition``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from caching.services import cache_slot_release
from telemetry.recording import telemetry_record_terminal

from ..errors import GenerationNotFound, InvalidTransition
from ..hooks import StatusChange, status_changed
from ..models import TERMINAL_STATUSES, Generation, GenerationEvent, Status
from . import transition_sql

ALLOWED: Mapping[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.PROCESSING, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
}
# A failed or cancelled generation gives its cache slot back so the next request regenerates.
RELEASES_SLOT = frozenset({Status.FAILED, Status.CANCELLED})


@dataclass(frozen=True)
class Transition:
    generation_id: uuid.UUID
    from_status: str
    to_status: str
    at: datetime
    also: tuple[Any, ...] = ()  # what each companion returned, in order


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def generation_transition(
    *,
    generation_id: uuid.UUID | str,
    to_status: str,
    from_statuses: frozenset[str] | None = None,
    reason: str = "",
    actor: str = "system",
    now: datetime | None = None,
    fields: Mapping[str, Any] | None = None,
    also: Sequence[transition_sql.Companion] = (),
) -> Transition:
    """Move a generation to ``to_status`` and write its audit event.

    ``from_statuses`` narrows the statuses the caller expects to leave (the worker claims
    only ``pending``). ``fields`` are written in the same UPDATE (result, error, cost...);
    ``also``: companion writes made in the same statement or transaction, only when the
    transition wins (``Transition.also`` has what they returned; a loser writes none).
    Side effects after commit: a terminal status is recorded in telemetry (once, since only
    one transition can win) and a failed/cancelled generation releases its cache slot.
    Raises ``GenerationNotFound`` or ``InvalidTransition``; never overwrites silently.
    """
    now = now or timezone.now()
    updates: dict[str, Any] = {"status": to_status, "updated_at": now, **(fields or {})}
    if to_status == Status.PROCESSING:
        updates["started_at"] = now
    if to_status in TERMINAL_STATUSES:
        updates["completed_at"] = now
    timed = "latency_ms" not in updates and to_status in TERMINAL_STATUSES
    if transition_sql.supported(updates):
        return _transition_fast(
            generation_id, to_status, from_statuses, updates, timed, reason, actor, now, also
        )
    with transaction.atomic():
        row = (
            Generation.objects.filter(id=generation_id)
            .values(
                "status",
                "workspace_id",
                "cache_key",
                "provider_id",
                "operation_type",
                "started_at",
            )
            .first()
        )
        if row is None:
            raise GenerationNotFound()
        current = row["status"]
        allowed_here = from_statuses is None or current in from_statuses
        if not allowed_here or not can_transition(current, to_status):
            raise InvalidTransition(generation_id, current, to_status)
        # A caller may say a terminal status has no latency (it never reached a provider).
        if timed and row["started_at"] is not None:
            updates["latency_ms"] = max(0, round((now - row["started_at"]).total_seconds() * 1000))
        changed = Generation.objects.filter(id=generation_id, status=current).update(**updates)
        if changed != 1:
            latest = Generation.objects.filter(id=generation_id).values_list("status", flat=True)
            raise InvalidTransition(generation_id, latest.first(), to_status)
        event = GenerationEvent.objects.create(
            generation_id=generation_id,
            from_status=current,
            to_status=to_status,
            reason=reason[:255],
            actor=actor[:150],
            at=now,
        )
        returned = tuple(companion.write() for companion in also)
        _after_commit(
            transition_sql.Row(
                current,
                row["workspace_id"],
                row["cache_key"],
                row["provider_id"],
                row["operation_type"],
                row["started_at"],
                event.id,
            ),
            generation_id,
            to_status,
            event.reason,
            updates.get("latency_ms"),
            now,
        )
    return Transition(uuid.UUID(str(generation_id)), current, to_status, now, returned)


def _transition_fast(
    generation_id: uuid.UUID | str,
    to_status: str,
    from_statuses: frozenset[str] | None,
    updates: dict[str, Any],
    timed: bool,
    reason: str,
    actor: str,
    now: datetime,
    also: Sequence[transition_sql.Companion],
) -> Transition:
    """The same transition as one statement (``transition_sql``, PostgreSQL)."""
    leaving = [s for s in ALLOWED if can_transition(s, to_status)]
    if from_statuses is not None:
        leaving = [s for s in leaving if s in from_statuses]
    reason, actor = reason[:255], actor[:150]
    row = transition_sql.transition_row(
        generation_id=generation_id,
        from_statuses=leaving,
        to_status=to_status,
        updates=updates,
        timed=timed,
        now=now,
        reason=reason,
        actor=actor,
        also=also,
    )
    if row is None:
        raise GenerationNotFound()
    if row.event_id is None:
        raise InvalidTransition(generation_id, row.status, to_status)
    latency = row.latency_ms if timed else updates.get("latency_ms")
    _after_commit(row, generation_id, to_status, reason, latency, now)
    return Transition(uuid.UUID(str(generation_id)), row.status, to_status, now, row.also)


def _after_commit(
    row: transition_sql.Row,
    generation_id: uuid.UUID | str,
    to_status: str,
    reason: str,
    latency: int | None,
    now: datetime,
) -> None:
    """The transition's side effects, once it commits: listeners, the slot, telemetry."""
    assert row.event_id is not None
    change = StatusChange(
        event_id=row.event_id,
        generation_id=uuid.UUID(str(generation_id)),
        workspace_id=row.workspace_id,
        provider_id=row.provider_id,
        operation_type=row.operation_type,
        from_status=row.status,
        to_status=to_status,
        reason=reason,
        at=now,
    )
    if to_status in TERMINAL_STATUSES:
        # Before the listeners: inside a ``telemetry_batch`` (the worker's completion) the
        # event is held, and goes in the listeners' round (``generations.hooks``).
        transaction.on_commit(
            lambda: telemetry_record_terminal(
                generation_id=str(generation_id),
                provider_id=row.provider_id,
                operation_type=row.operation_type,
                status=to_status,
                latency_ms=latency,
                at=now,
            ),
            robust=True,
        )
    transaction.on_commit(lambda: status_changed(change), robust=True)
    if to_status in RELEASES_SLOT and row.cache_key:
        workspace_id, key = row.workspace_id, row.cache_key
        transaction.on_commit(
            lambda: cache_slot_release(
                workspace_id=workspace_id, key=key, generation_id=str(generation_id)
            ),
            robust=True,
        )


def generation_cancel(
    *, generation: Generation, actor: str, reason: str = "cancelled by request"
) -> Generation:
    """Cancel a pending or processing generation (409 ``invalid_transition`` otherwise);
    returns it as it is now.

    A processing generation's provider job is cancelled at the provider (best effort, by a
    task after commit); a result that arrives later is discarded by the worker, whose
    completing transition loses against this one.
    """
    from .dispatch import generation_provider_cancel_enqueue

    transition = generation_transition(
        generation_id=generation.id, to_status=Status.CANCELLED, reason=reason, actor=actor
    )
    if transition.from_status == Status.PROCESSING:
        generation_provider_cancel_enqueue(generation_id=str(generation.id))
    generation.refresh_from_db()
    return generation
