"""The event feed: one ``GenerationEvent`` row as every push channel sends it.

An event is the audit row of one status change, rendered as a plain JSON-ready dict
(``event_object``). Event ids increase, so a client that remembers the last id it saw
resumes with ``events_after(last_id, ...)``; SSE, WebSocket, ``Prefer: wait`` and webhooks
all read this one table through these functions (docs/events.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet

from .compiled import CompiledQuery, compile_once, key_value
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


def _statuses(types: Iterable[str] | None) -> list[str] | None:
    if types is None:
        return None
    return [t.removeprefix("generation.") for t in types]


# Sentinel parameters of the compiled reads (never real values: ids are positive).
_LAST = -9_000_000_001
_RUN = -9_100_000_000  # run i: _RUN - 2i (first), _RUN - 2i - 1 (last)
_SINGLE = -9_200_000_000
_WORKSPACE = -9_300_000_000
_GENERATION = uuid.UUID("00000000-0000-4000-8000-0000000e7e47")


def _events_queryset(
    last_id: int,
    runs: list[tuple[int, int]],
    singles: list[int],
    generation_id: Any,
    workspace_ids: list[int] | None,
    statuses: list[str] | None,
    limit: int,
) -> QuerySet[GenerationEvent]:
    after = Q(id__gt=last_id)
    for run in runs:
        after |= Q(id__range=run)
    if singles:
        after |= Q(id__in=singles)
    rows = GenerationEvent.objects.filter(after).select_related("generation")
    if generation_id is not None:
        rows = rows.filter(generation_id=generation_id)
    if workspace_ids is not None:
        rows = rows.filter(generation__workspace_id__in=workspace_ids)
    if statuses is not None:
        rows = rows.filter(to_status__in=statuses)
    return rows.order_by("id")[:limit]


class _Shape(NamedTuple):
    """What a read's SQL depends on: how many of each kind of parameter, and the limit."""

    runs: int
    singles: int
    generation: bool
    workspaces: int | None
    statuses: int | None
    limit: int


def _compiled_read(alias: str, shape: _Shape) -> CompiledQuery:
    """The read of this shape, compiled once (with sentinels in every parameter)."""
    return compile_once(("events", shape), alias, lambda: _read_queryset(alias, shape))


def _read_queryset(alias: str, shape: _Shape) -> tuple[QuerySet[GenerationEvent], dict[Any, str]]:
    runs, singles, generation, workspaces, statuses, limit = shape
    sentinels: dict[Any, str] = {_LAST: "last"}
    run_pairs = [(_RUN - 2 * i, _RUN - 2 * i - 1) for i in range(runs)]
    for i, (first, last) in enumerate(run_pairs):
        sentinels[first], sentinels[last] = f"run{i}.first", f"run{i}.last"
    single_ids = [_SINGLE - i for i in range(singles)]
    sentinels.update({value: f"single{i}" for i, value in enumerate(single_ids)})
    generation_id = None
    if generation:
        generation_id = key_value(Generation, _GENERATION, alias)
        sentinels[generation_id] = "generation"
    workspace_ids = None if workspaces is None else [_WORKSPACE - i for i in range(workspaces)]
    sentinels.update({value: f"workspace{i}" for i, value in enumerate(workspace_ids or ())})
    status_values = None if statuses is None else [f"\x01status-{i}" for i in range(statuses)]
    sentinels.update({value: f"status{i}" for i, value in enumerate(status_values or ())})
    queryset = _events_queryset(
        _LAST, run_pairs, single_ids, generation_id, workspace_ids, status_values, limit
    )
    return queryset, sentinels


def events_after(
    last_id: int | None,
    *,
    generation_id: uuid.UUID | str | None = None,
    workspace_ids: Collection[int] | None = None,
    types: Collection[str] | None = None,
    also_ids: Collection[int] = (),
    limit: int = DEFAULT_LIMIT,
    alias: str = "default",
) -> list[dict[str, Any]]:
    """Event objects with an id above ``last_id`` (every one when ``None``), oldest first.

    ``generation_id`` narrows to one generation, ``workspace_ids`` to those workspaces
    (``None``: every workspace; callers scope it to what the user may see), ``types`` to
    those event types. ``also_ids`` adds rows by id even at or below ``last_id`` (a feed
    reader re-checks ids that were missing when it last read: a transaction that took its
    id earlier may commit later); consecutive ids are asked for as one range, so a long
    hole (rows deleted, a sequence that jumped) costs one condition, not one parameter per
    id. At most ``limit`` rows; one query, no side effects. The query is compiled once
    per shape of the arguments (how many ranges, ids, workspaces, types) and process:
    the feed reads on every transition, and compiling it cost four times running it.
    """
    runs, singles = _id_runs(also_ids) if also_ids else ([], [])
    workspaces = None if workspace_ids is None else sorted(set(workspace_ids))
    statuses = _statuses(types)
    statuses = None if statuses is None else sorted(set(statuses))
    if workspaces == [] or statuses == []:
        return []  # nothing can match (the queryset's empty IN)
    shape = _Shape(
        len(runs),
        len(singles),
        generation_id is not None,
        None if workspaces is None else len(workspaces),
        None if statuses is None else len(statuses),
        limit,
    )
    compiled = _compiled_read(alias, shape)
    arguments: dict[str, Any] = {"last": last_id or 0}
    for i, (first, last) in enumerate(runs):
        arguments[f"run{i}.first"], arguments[f"run{i}.last"] = first, last
    arguments.update({f"single{i}": value for i, value in enumerate(singles)})
    if generation_id is not None:
        arguments["generation"] = key_value(Generation, generation_id, alias)
        if arguments["generation"] is None:
            return []  # a malformed id names no generation
    arguments.update({f"workspace{i}": value for i, value in enumerate(workspaces or ())})
    arguments.update({f"status{i}": value for i, value in enumerate(statuses or ())})
    rows = compiled.instances(alias, arguments)
    return [event_object(row, row.generation) for row in rows]


def events_latest_id() -> int:
    """The highest event id recorded so far (0 on an empty table)."""
    latest = GenerationEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return int(latest or 0)
