"""The event feed: one ``GenerationEvent`` row as every push channel sends it.

An event is the audit row of one status change, rendered as a plain JSON-ready dict
(``event_object``). Event ids increase, so a client that remembers the last id it saw
resumes with ``events_after(last_id, ...)``; SSE, WebSocket, ``Prefer: wait`` and webhooks
all read this one table through these functions (docs/events.md).
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Collection, Iterable
from functools import reduce
from typing import Any

from django.db.models import Q

from .models import TERMINAL_STATUSES, Generation, GenerationEvent, Status
from .rendering import _iso, generation_json

EVENT_TYPES = frozenset(f"generation.{status}" for status in Status.values)
TERMINAL_EVENT_TYPES = frozenset(f"generation.{status}" for status in TERMINAL_STATUSES)
# The most rows one read returns; a reader further behind pages on.
DEFAULT_LIMIT = 500


def event_type(to_status: str) -> str:
    return f"generation.{to_status}"


def event_object(event: GenerationEvent, generation: Generation | None = None) -> dict[str, Any]:
    """The event as a plain JSON-ready dict; ``generation`` as ``GET generations/{id}``
    renders it now (pass it in when already loaded, else it is read)."""
    generation = generation if generation is not None else event.generation
    return {
        "event_id": event.id,
        "type": event_type(event.to_status),
        "generation_id": str(event.generation_id),
        "workspace_id": generation.workspace_id,
        "from_status": event.from_status or None,
        "to_status": event.to_status,
        "reason": event.reason,
        "at": _iso(event.at),
        "generation": generation_json(generation),
    }


def is_terminal_event(event: dict[str, Any]) -> bool:
    """Whether the event moved its generation to a final status (nothing follows it)."""
    return event.get("type") in TERMINAL_EVENT_TYPES


def _id_runs(ids: Collection[int]) -> tuple[list[tuple[int, int]], list[int]]:
    """``ids`` as runs of consecutive ids (``(first, last)``, two ids or more) and the
    ids left alone: a hole of thousands of ids is one ``BETWEEN``, not thousands of
    query parameters."""
    runs: list[tuple[int, int]] = []
    singles: list[int] = []
    ordered = sorted(set(ids))
    start = 0
    for index in range(1, len(ordered) + 1):
        if index < len(ordered) and ordered[index] == ordered[index - 1] + 1:
            continue
        first, last = ordered[start], ordered[index - 1]
        if first == last:
            singles.append(first)
        else:
            runs.append((first, last))
        start = index
    return runs, singles


def _also(ids: Collection[int]) -> Q:
    runs, singles = _id_runs(ids)
    conditions = [Q(id__range=run) for run in runs]
    if singles:
        conditions.append(Q(id__in=singles))
    return reduce(operator.or_, conditions)


def _statuses(types: Iterable[str] | None) -> list[str] | None:
    if types is None:
        return None
    return [t.removeprefix("generation.") for t in types]


def events_after(
    last_id: int | None,
    *,
    generation_id: uuid.UUID | str | None = None,
    workspace_ids: Collection[int] | None = None,
    types: Collection[str] | None = None,
    also_ids: Collection[int] = (),
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Event objects with an id above ``last_id`` (every one when ``None``), oldest first.

    ``generation_id`` narrows to one generation, ``workspace_ids`` to those workspaces
    (``None``: every workspace; callers scope it to what the user may see), ``types`` to
    those event types. ``also_ids`` adds rows by id even at or below ``last_id`` (a feed
    reader re-checks ids that were missing when it last read: a transaction that took its
    id earlier may commit later); consecutive ids are asked for as one range, so a long
    hole (rows deleted, a sequence that jumped) costs one condition, not one parameter per
    id. At most ``limit`` rows; one query, no side effects.
    """
    after = Q(id__gt=last_id or 0)
    if also_ids:
        after |= _also(also_ids)
    rows = GenerationEvent.objects.filter(after).select_related("generation")
    if generation_id is not None:
        rows = rows.filter(generation_id=generation_id)
    if workspace_ids is not None:
        rows = rows.filter(generation__workspace_id__in=list(workspace_ids))
    statuses = _statuses(types)
    if statuses is not None:
        rows = rows.filter(to_status__in=statuses)
    return [event_object(row, row.generation) for row in rows.order_by("id")[:limit]]


def events_latest_id() -> int:
    """The highest event id recorded so far (0 on an empty table)."""
    latest = GenerationEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return int(latest or 0)
