"""A new generation and its first event written in one statement (PostgreSQL).

The create writes two rows; through the ORM each ``save`` compiles its ``INSERT`` again
and each is a round trip. On PostgreSQL both go in one statement,
``WITH g AS (INSERT INTO generation ... RETURNING 1) INSERT INTO event ... RETURNING id``,
whose SQL is compiled once per process from the models (the same columns, the same
``pre_save`` (``auto_now``) and ``get_db_prep_save`` conversions as ``save``, the latter
through ``core.dbvalues``). The event's
foreign key is checked at commit (Django's constraints are deferred), so the order inside
the statement does not matter. Elsewhere (SQLite), or when something listens to the
models' ``pre_save``/``post_save`` signals (which this path does not send), the two rows
are saved through the ORM.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

from core.dbvalues import Converter, save_converter
from core.prepared import prepared_cursor

from ..models import Generation, GenerationEvent

# Per alias: the statement, and each model's fields with their ``get_db_prep_save``.
Columns = list[tuple["Field[Any, Any]", Converter]]
_compiled: dict[str, tuple[str, Columns, Columns]] = {}
_lock = threading.Lock()


def _fields(model: type[Model], *, with_pk: bool) -> list[Field[Any, Any]]:
    meta = model._meta
    return [
        field
        for field in meta.local_concrete_fields
        if not getattr(field, "generated", False) and (with_pk or not field.primary_key)
    ]


def _insert_sql(model: type[Model], fields: list[Field[Any, Any]], alias: str) -> str:
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = None
    [(sql, _params)] = compiler.as_sql()
    return str(sql)


def _statement(alias: str) -> tuple[str, Columns, Columns]:
    found = _compiled.get(alias)
    if found is not None:
        return found
    generation_fields = _fields(Generation, with_pk=True)
    event_fields = _fields(GenerationEvent, with_pk=False)
    if any(f.has_db_default() for f in (*generation_fields, *event_fields)):
        raise RuntimeError("a database default needs the ORM's DEFAULT placeholder")
    event_pk = GenerationEvent._meta.pk
    assert event_pk is not None
    quote = connections[alias].ops.quote_name
    sql = (
        f"WITH g AS ({_insert_sql(Generation, generation_fields, alias)} RETURNING 1) "
        f"{_insert_sql(GenerationEvent, event_fields, alias)} "
        f"RETURNING {quote(str(event_pk.column))}"
    )
    connection = connections[alias]
    compiled = (
        sql,
        [(field, save_converter(field, connection)) for field in generation_fields],
        [(field, save_converter(field, connection)) for field in event_fields],
    )
    with _lock:
        _compiled[alias] = compiled
    return compiled


def _values(obj: Model, columns: Columns) -> list[Any]:
    return [convert(field.pre_save(obj, True)) for field, convert in columns]


def _listened(model: type[Model]) -> bool:
    return pre_save.has_listeners(model) or post_save.has_listeners(model)


def generation_rows_insert(
    generation: Generation, event: GenerationEvent, *, alias: str = "default"
) -> None:
    """Insert ``generation`` and then ``event`` (its first event) as new rows, as
    ``save(force_insert=True)`` on each would: ``auto_now`` fields and the event's id are
    set on the instances, which then count as saved. Call inside the create's transaction.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql" or _listened(Generation) or _listened(GenerationEvent):
        generation.save(force_insert=True, using=alias)
        event.generation = generation
        event.save(force_insert=True, using=alias)
        return
    sql, generation_fields, event_fields = _statement(alias)
    event.generation_id = generation.pk
    params = _values(generation, generation_fields)
    params += _values(event, event_fields)
    with prepared_cursor(alias) as cursor:  # planned once per connection
        cursor.execute(sql, params)
        (event.pk,) = cursor.fetchone()
    for obj in (generation, event):
        obj._state.adding = False
        obj._state.db = alias
