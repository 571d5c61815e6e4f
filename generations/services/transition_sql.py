"""A status transition as one PostgreSQL statement (``generation_transition``'s fast path).

The read of the current status (locked), the conditional UPDATE and the audit event's
INSERT run as one statement with data-modifying CTEs: atomic on its own, one round trip,
and no queryset to compile. ``lifecycle`` uses it on PostgreSQL when every written value
is a plain value (no expression); elsewhere it keeps the ORM path, which does the same in
three statements inside a transaction.

A transition may carry *companions* (``Companion``): writes that belong to the same
change (the worker's provider attempt row, the breaker's window count) and must happen
only when it wins. On this path each is one more data-modifying CTE of the same statement;
on the ORM path each runs in the transition's transaction once the UPDATE won.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import connection
from django.db.models import Field

from core.dbvalues import Converter, save_converter
from core.prepared import prepared_cursor

from ..models import Generation, GenerationEvent


@dataclass(frozen=True)
class Row:
    """The generation as it was before the transition, and the event written (``None``:
    the current status does not allow it, nothing was written)."""

    status: str
    workspace_id: int
    cache_key: str
    provider_id: str
    operation_type: str
    started_at: datetime | None
    event_id: int | None
    latency_ms: int | None = None  # as written (the fast path)
    also: tuple[Any, ...] = ()  # what each companion returned (``None``: it wrote nothing)


class Companion(Protocol):
    """A write made with a transition, only when the transition wins."""

    def statement(self) -> tuple[str, list[Any]]:
        """A data-modifying statement (PostgreSQL) for a CTE of the transition's statement,
        returning one value (``RETURNING x``). It must write only when the transition won:
        read ``upd`` (the updated generation, ``upd.id``) as ``INSERT ... SELECT ... FROM
        upd`` or ``WHERE EXISTS (SELECT 1 FROM upd)``."""
        ...

    def write(self) -> Any:
        """The same write, portable, inside the transaction whose transition won; returns
        what ``statement`` returns."""
        ...


def supported(updates: Mapping[str, Any]) -> bool:
    return connection.vendor == "postgresql" and not any(
        hasattr(value, "resolve_expression") for value in updates.values()
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _statement(names: tuple[str, ...], timed: bool) -> tuple[str, tuple[Converter, ...]]:
    """The statement's head (cur, upd, ev) for these written fields, and each field's
    ``get_db_prep_save`` (``core.dbvalues``); built once per set of fields (a worker
    writes the same few sets again and again)."""
    meta = Generation._meta
    table, events = _q(meta.db_table), _q(GenerationEvent._meta.db_table)
    fields, assignments = [], []
    for name in names:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        fields.append(field)
        assignments.append(f"{_q(str(field.column))} = %s")
    if timed:
        assignments.append(
            "latency_ms = CASE WHEN cur.started_at IS NULL THEN g.latency_ms ELSE "
            "GREATEST(0, round(extract(epoch FROM (%s - cur.started_at)) * 1000))::integer END"
        )
    sql = (
        "WITH cur AS (SELECT id, status, workspace_id, cache_key, provider_id, operation_type,"
        f" started_at FROM {table} WHERE id = %s FOR UPDATE),"
        f" upd AS (UPDATE {table} g SET {', '.join(assignments)} FROM cur"
        " WHERE g.id = cur.id AND cur.status = ANY(%s) RETURNING g.id, g.latency_ms),"
        f" ev AS (INSERT INTO {events} (generation_id, from_status, to_status, reason, actor, at)"
        " SELECT cur.id, cur.status, %s, %s, %s, %s FROM cur JOIN upd ON upd.id = cur.id"
        " RETURNING id)"
    )
    return sql, tuple(save_converter(field, connection) for field in fields)


def transition_row(
    *,
    generation_id: uuid.UUID | str,
    from_statuses: Iterable[str],
    to_status: str,
    updates: Mapping[str, Any],
    timed: bool,
    now: datetime,
    reason: str,
    actor: str,
    also: Sequence[Companion] = (),
) -> Row | None:
    """Lock the generation, update it if its status is one of ``from_statuses`` and write
    the event; ``timed``: also set ``latency_ms`` from ``started_at`` (when set); each of
    ``also`` writes when the update did. ``None`` when the generation does not exist."""
    sql, converters = _statement(tuple(updates), timed)
    params = [convert(value) for convert, value in zip(converters, updates.values(), strict=True)]
    if timed:
        params.append(now)
    # Placeholders in the statement's order: cur, upd (its SET, then the status filter), ev,
    # then the companions'.
    values = [uuid.UUID(str(generation_id)), *params, sorted(from_statuses)]
    values += [to_status, reason, actor, now]
    returned = ""
    for position, companion in enumerate(also):
        statement, companion_params = companion.statement()
        sql += f", also{position} AS ({statement})"
        values += companion_params
        returned += f", (SELECT * FROM also{position} LIMIT 1)"
    sql += (
        " SELECT cur.status, cur.workspace_id, cur.cache_key, cur.provider_id,"
        " cur.operation_type, cur.started_at, (SELECT id FROM ev), (SELECT latency_ms FROM upd)"
        f"{returned} FROM cur"
    )
    with prepared_cursor() as cursor:  # planned once per connection and shape
        cursor.execute(sql, values)
        found = cursor.fetchone()
    if found is None:
        return None
    status, workspace_id, cache_key, provider_id, operation_type, started_at = found[:6]
    event_id, latency_ms, *returned_values = found[6:]
    return Row(
        status,
        workspace_id,
        cache_key,
        provider_id,
        operation_type,
        started_at,
        event_id,
        latency_ms,
        tuple(returned_values),
    )
