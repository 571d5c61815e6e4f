"""Hot lookups compiled to SQL once per process, not per call: the create path's reuse
lookups and the worker's load of its generation.

Building a queryset's SQL costs several times the query itself; the reuse lookups run on
every create (and twice on a cold one), the worker's on every attempt. Each is compiled
from its ORM queryset the first time, with sentinel parameters that are swapped for the
real ones at each call, then run on a cursor (``generations.compiled``: same SQL, same
converters, same model instances, related objects included, as the queryset gives).
Each, as the first statement of a request or a task, stands in for the connection's
health check (``generations.compiled.repeatable_read``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, Q, Value, When

from core.prepared import prepared_cursor

from ..compiled import CompiledQuery, compile_once, key_value, repeatable_read
from ..models import Generation

_WORKSPACE = -7_301_946_552  # sentinel values, never real parameters
_HASH = "\x01reproducible-hash-sentinel"
_ID = uuid.UUID("00000000-0000-4000-8000-00000000f00d")


def _compile(
    name: str, alias: str, build: Callable[[], Any], sentinels: dict[Any, str]
) -> CompiledQuery:
    return compile_once(("lookups", name), alias, lambda: (build(), sentinels))


# Taken before the lookup in the same round trip (``reusable_by_hash(lock=...)``).
_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


def _run(
    compiled: CompiledQuery, alias: str, arguments: dict[str, Any], lock: str | None = None
) -> Generation | None:
    """One row of the compiled query as a model instance, as the queryset would build it
    (``generations.compiled``), after taking the advisory ``lock`` if one is given. As the
    first statement of a request or a task it is the connection's health check
    (``repeatable_read``; a lock is only taken in a transaction, which is never checked)."""
    return repeatable_read(alias, lambda: _run_once(compiled, alias, arguments, lock))


def _run_once(
    compiled: CompiledQuery, alias: str, arguments: dict[str, Any], lock: str | None
) -> Generation | None:
    values = compiled.parameters(arguments)
    connection = connections[alias]
    if lock is None:
        with prepared_cursor(alias) as cursor:  # planned once per connection
            cursor.execute(compiled.sql, values)
            row = cursor.fetchone()
        return None if row is None else compiled.instance(alias, row)
    with connection.cursor() as cursor:
        if _one_round_trip(connection):
            # Two statements in one query string: each reads its own snapshot, so the
            # lookup sees what the lock's previous holder committed.
            cursor.execute(f"{_LOCK_SQL}; {compiled.sql}", [lock, *values])
            cursor.nextset()
        else:
            cursor.execute(_LOCK_SQL, [lock])
            cursor.execute(compiled.sql, values)
        row = cursor.fetchone()
    return None if row is None else compiled.instance(alias, row)


def _by_hash_queryset() -> Any:
    # The workspace is compared as ``workspace_id + 0``, which no index serves, so the
    # plan is always the hash's own index (``gen_hash_created``: a hash has a handful of
    # rows). With a plain ``workspace_id =``, a workspace that PostgreSQL's statistics
    # still took for nearly empty (a new or fast-growing one, until the next ANALYZE) got
    # a walk of all its rows newest first, filtered by hash: 768 rows cost 2.3 ms per
    # lookup, against 0.05 ms.
    return (
        Generation.objects.reusable()
        .alias(workspace_unindexed=ExpressionWrapper(F("workspace_id") + 0, BigIntegerField()))
        .filter(workspace_unindexed=_WORKSPACE, reproducible_hash=_HASH)
        .order_by("-created_at")[:1]
    )


def _by_id_queryset() -> Any:
    return Generation.objects.reusable().filter(id=_ID, workspace_id=_WORKSPACE)[:1]


def _by_hash_or_id_queryset() -> Any:
    # Either lookup's row, the hash's first: its index (as in ``_by_hash_queryset``) or the
    # primary key, OR-ed into one bitmap scan of a handful of rows.
    return (
        Generation.objects.reusable()
        .alias(workspace_unindexed=ExpressionWrapper(F("workspace_id") + 0, BigIntegerField()))
        .filter(
            Q(workspace_unindexed=_WORKSPACE, reproducible_hash=_HASH)
            | Q(id=_ID, workspace_id=_WORKSPACE)
        )
        .order_by(
            Case(When(reproducible_hash=_HASH, then=Value(0)), default=Value(1)), "-created_at"
        )[:1]
    )


def _for_worker_queryset() -> Any:
    return Generation.objects.select_related("provider", "provider__breaker").filter(id=_ID)[:1]


def generation_for_worker(*, generation_id: str, alias: str = "default") -> Generation | None:
    """The generation a worker processes, with its provider and the provider's breaker row
    (``None`` for an unknown or malformed id). As a task's first statement it is also the
    connection's health check (``generations.compiled.repeatable_read``)."""
    sentinel = key_value(Generation, _ID, alias)
    compiled = _compile("for_worker", alias, _for_worker_queryset, {sentinel: "id"})
    value = key_value(Generation, generation_id, alias)
    if value is None:
        return None
    return _run(compiled, alias, {"id": value})


def _one_round_trip(connection: Any) -> bool:
    """Whether several statements with parameters can go in one ``execute`` (psycopg's
    client-side binding, Django's default)."""
    return not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")


def reusable_by_hash(
    *, workspace_id: int, digest: str, lock: str | None = None, alias: str = "default"
) -> Generation | None:
    """The newest reusable generation of the workspace with this reproducible hash
    (``Generation.objects.reusable()``: pending, processing or completed, not invalidated).

    ``lock``: first take the PostgreSQL advisory lock of this name, held until the
    transaction ends (in the same round trip as the lookup). SQLite takes none: its
    ``IMMEDIATE`` transactions already run one writer at a time.
    """
    compiled = _compile(
        "by_hash", alias, _by_hash_queryset, {_WORKSPACE: "workspace", _HASH: "digest"}
    )
    if connections[alias].vendor != "postgresql":
        lock = None
    return _run(compiled, alias, {"workspace": workspace_id, "digest": digest}, lock)


def reusable_by_hash_or_id(
    *, workspace_id: int, digest: str, generation_id: str, alias: str = "default"
) -> Generation | None:
    """``reusable_by_hash``'s answer if it has one, else ``reusable_by_id``'s: both lookups
    of a create whose cache slot points at ``generation_id``, in one statement. The caller
    tells them apart by the row's ``reproducible_hash`` (a dedup hit has ``digest``)."""
    sentinels = {
        _WORKSPACE: "workspace",
        _HASH: "digest",
        key_value(Generation, _ID, alias): "id",
    }
    compiled = _compile("by_hash_or_id", alias, _by_hash_or_id_queryset, sentinels)
    value = key_value(Generation, generation_id, alias)
    if value is None:
        return reusable_by_hash(workspace_id=workspace_id, digest=digest, alias=alias)
    arguments = {"workspace": workspace_id, "digest": digest, "id": value}
    return _run(compiled, alias, arguments)


def reusable_by_id(
    *, workspace_id: int, generation_id: str, alias: str = "default"
) -> Generation | None:
    """The generation a cache slot points at, if it is reusable and in the workspace."""
    sentinels = {_WORKSPACE: "workspace", key_value(Generation, _ID, alias): "id"}
    compiled = _compile("by_id", alias, _by_id_queryset, sentinels)
    value = key_value(Generation, generation_id, alias)
    if value is None:
        return None
    return _run(compiled, alias, {"workspace": workspace_id, "id": value})
