"""A queryset compiled to SQL once per process, then run with other parameters.

Building a queryset's SQL costs several times a small indexed query itself (the event
feed's read: about 0.4 ms of compiler for a 0.1 ms query). ``compile_queryset`` compiles
one built with sentinel parameters; ``CompiledQuery.instances`` swaps them for the real
values and runs the SQL on a cursor: the same SQL, the same database converters, the same
model instances (``Model.from_db``, ``select_related`` objects included) as the queryset.
``compile_once`` keeps what it compiled per key and database alias for the process.

A compiled read is safe to repeat: as the first statement of a request, a task or a
create's transaction it stands in for the connection's health check (``repeatable_read``,
``transaction_checked_by_first_read``).
"""

from __future__ import annotations

import copy
import functools
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

from core.prepared import prepared_cursor


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    params: tuple[Any, ...]
    slots: dict[int, str]  # parameter position -> argument name
    model: type[Model]
    field_names: list[str]  # the main model's columns' attribute names, in order
    converters: dict[int, tuple[list[Any], Any]]  # the compiler's, per column
    model_columns: slice  # where the main model's columns are in a row
    related: list[Any]  # select_related's populators (stateless, reusable)
    plain_attributes: bool = False  # see ``model_from_db``

    def parameters(self, arguments: Mapping[str, Any]) -> list[Any]:
        """The query's parameters with the sentinels swapped for ``arguments`` (database
        values, as the compiler's parameters are)."""
        return [
            arguments[self.slots[i]] if i in self.slots else value
            for i, value in enumerate(self.params)
        ]

    def instance(self, alias: str, row: Any) -> Any:
        """One fetched row as the queryset's model instance."""
        connection = connections[alias]
        fields = list(row)
        for position, (functions, expression) in self.converters.items():
            value = fields[position]
            for function in functions:
                value = function(value, expression, connection)
            fields[position] = value
        values = fields[self.model_columns]
        if self.plain_attributes:
            instance = model_from_db(self.model, alias, self.field_names, values)
        else:
            instance = self.model.from_db(alias, self.field_names, values)
        for populator in self.related:
            populator.populate(fields, instance)
        return instance

    def instances(self, alias: str, arguments: Mapping[str, Any]) -> list[Any]:
        """The rows for these arguments, as the queryset's model instances."""
        return repeatable_read(alias, lambda: self._instances(alias, arguments))

    def _instances(self, alias: str, arguments: Mapping[str, Any]) -> list[Any]:
        with prepared_cursor(alias) as cursor:  # planned once per connection
            cursor.execute(self.sql, self.parameters(arguments))
            rows = cursor.fetchall()
        return [self.instance(alias, row) for row in rows]


_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def plain_attributes(model: type[Model], field_names: list[str]) -> bool:
    """Whether ``model_from_db`` may build ``model`` from all its concrete fields' values
    in this order: what ``Model.__init__`` does with them is then to set each attribute,
    the model overrides neither ``__init__`` nor ``from_db``, and each attribute's
    descriptor is Django's plain one (a foreign key's clears a cached related object a new
    instance does not have; a file field's, which wraps the value, is not allowed)."""
    names = [field.attname for field in model._meta.concrete_fields]
    overridden = model.__init__ is not Model.__init__ or (
        model.from_db.__func__ is not Model.from_db.__func__  # type: ignore[attr-defined]
    )
    return (
        names == field_names
        and not overridden
        and all(type(model.__dict__.get(name)) in _PLAIN_DESCRIPTORS for name in names)
    )


def model_from_db(model: type[Model], alias: str, names: list[str], values: Any) -> Any:
    """``model.from_db(alias, names, values)`` for a model that ``plain_attributes``
    allows: the same instance (attributes, ``_state``), without ``Model.__init__``'s loop
    over the fields, unless something listens to ``pre_init``/``post_init`` for the model
    (they are then sent, through ``from_db``)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(alias, names, values)
    instance = model.__new__(model)
    state = instance._state = ModelState()
    instance.__dict__.update(zip(names, values, strict=True))
    state.adding, state.db = False, alias
    return instance


_COPY_HOOKS = ("__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
_M = TypeVar("_M", bound=Model)


@functools.cache
def _copied_plainly(model: type[Model]) -> bool:
    """Whether ``model`` is copied as ``Model`` is (``copy.copy`` through pickling)."""
    return all(getattr(model, hook, None) is getattr(Model, hook, None) for hook in _COPY_HOOKS)


def instance_copy(instance: _M) -> _M:
    """``copy.copy(instance)`` for a model instance, without the pickle protocol's round
    (``Model.__reduce__``, ``__getstate__``, ``__setstate__``): the same attributes, the same
    related objects, and a ``_state`` of its own (its ``fields_cache`` a copy, its
    ``related_managers_cache`` empty), as ``copy.copy`` gives, except its pickling stamp
    (``_django_version``). A model that changes how it is copied or pickled, or an instance
    holding a ``memoryview``, is copied by ``copy.copy``."""
    model = type(instance)
    if not _copied_plainly(model) or any(
        isinstance(value, memoryview) for value in instance.__dict__.values()
    ):
        return copy.copy(instance)
    copied = model.__new__(model)
    attributes = instance.__dict__.copy()
    state = ModelState.__new__(ModelState)
    state.__dict__.update(instance._state.__dict__)
    cached = state.__dict__.get("fields_cache")
    state.fields_cache = {} if cached is None else cached.copy()
    if "related_managers_cache" in state.__dict__:
        state.__dict__["related_managers_cache"] = {}
    attributes["_state"] = state
    copied.__dict__.update(attributes)
    return copied


# A connection that went away (a database restart) fails with one of these.
DATABASE_ERRORS = (OperationalError, InterfaceError)
_T = TypeVar("_T")


def repeatable_read(alias: str, read: Callable[[], _T]) -> _T:
    """``read()``, a statement safe to repeat, standing in for the connection's health check.

    A request or a task starts with its connections to be checked (Django's
    ``close_old_connections``; ``genpipe_site.celery`` for tasks): with
    ``CONN_HEALTH_CHECKS`` the first statement then pays a ``SELECT 1`` round trip. When
    that first statement is this read, outside a transaction, it runs unchecked and, if it
    fails because the connection is gone, the connection is closed and the read run again
    on a new one: what the check would have done, without its round trip on every request.
    A read that fails on a live connection raises as it would have.
    """
    connection = connections[alias]
    if not _checks_itself(connection):
        return read()
    try:
        return read()
    except DATABASE_ERRORS:
        if connection.is_usable():
            raise  # the statement failed, not the connection
        connection.close()  # what the health check would have done
        return read()


def transaction_checked_by_first_read(alias: str, run: Callable[[Callable[[], None]], _T]) -> _T:
    """``run(read_done)``: a transaction whose first statement, a read safe to repeat,
    stands in for the connection's pending health check as ``repeatable_read``'s does.

    ``run`` calls ``read_done()`` once that read has answered. If it fails before, because
    the connection is gone, nothing has been written anywhere: the connection is closed
    and ``run`` called again on a new one. After ``read_done()`` (a write may have
    happened, in Redis say), or on a live connection, a failure raises as it would have.
    """
    connection = connections[alias]
    if not _checks_itself(connection):
        return run(_nothing)
    answered = False

    def read_done() -> None:
        nonlocal answered
        answered = True

    try:
        return run(read_done)
    except DATABASE_ERRORS:
        # The transaction's rollback closed a connection it could not roll back on.
        if answered or (connection.connection is not None and connection.is_usable()):
            raise
        connection.close()  # what the health check would have done
        return run(_nothing)


def _nothing() -> None:
    return None


def _checks_itself(connection: Any) -> bool:
    """Whether the next statement may stand in for the connection's pending health check
    (and mark it done)."""
    if (
        connection.connection is None  # a new connection needs no check
        or getattr(connection, "pool", None)  # a pool hands out checked connections
        or connection.in_atomic_block
        or connection.health_check_done
        or not connection.health_check_enabled
    ):
        return False
    connection.health_check_done = True
    return True


def compile_queryset(
    queryset: QuerySet[Any], alias: str, sentinels: Mapping[Any, str]
) -> CompiledQuery:
    """``queryset`` (built with the ``sentinels`` as its parameters) compiled for
    ``alias``; each sentinel becomes a slot for the argument it names. Raises
    ``RuntimeError`` when a sentinel is not found among the compiled parameters."""
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    slots: dict[int, str] = {}
    for position, value in enumerate(params):
        for sentinel, argument in sentinels.items():
            if value == sentinel and isinstance(value, type(sentinel)):
                slots[position] = argument
    if set(slots.values()) != set(sentinels.values()):  # a sentinel may be used twice
        raise RuntimeError(f"cannot compile {queryset.model.__name__} query: {params!r}")
    columns = [column for column, _, _ in compiler.select]
    selected = compiler.klass_info["select_fields"]
    model_columns = slice(selected[0], selected[-1] + 1)
    # Django 5.2 takes three arguments (the stubs follow a later signature).
    populators: Callable[..., list[Any]] = get_related_populators
    field_names = [column.target.attname for column in columns[model_columns]]
    return CompiledQuery(
        sql=sql,
        params=tuple(params),
        slots=slots,
        model=queryset.model,
        field_names=field_names,
        converters=compiler.get_converters(columns),
        model_columns=model_columns,
        related=populators(compiler.klass_info, compiler.select, alias),
        plain_attributes=plain_attributes(queryset.model, field_names),
    )


KEPT = 512  # compiled queries kept per process (one per lookup, or per shape of a read)
_kept: dict[tuple[Hashable, str], CompiledQuery] = {}
_lock = threading.Lock()


def compile_once(
    key: Hashable, alias: str, build: Callable[[], tuple[QuerySet[Any], Mapping[Any, str]]]
) -> CompiledQuery:
    """The queryset ``build`` returns with its sentinels, compiled the first time ``key``
    asks for it on ``alias`` and kept (beyond ``KEPT`` queries, compiled each time)."""
    found = _kept.get((key, alias))
    if found is not None:
        return found
    queryset, sentinels = build()
    compiled = compile_queryset(queryset, alias, sentinels)
    with _lock:
        if len(_kept) < KEPT:
            _kept[(key, alias)] = compiled
    return compiled


def key_value(model: type[Model], value: Any, alias: str) -> Any:
    """A UUID primary key as the database takes it (a UUID, or hex text on SQLite);
    ``None`` for a malformed one."""
    try:
        wanted = uuid.UUID(str(value))
    except ValueError:
        return None
    field = model._meta.pk
    assert field is not None
    return field.get_db_prep_value(wanted, connections[alias])
