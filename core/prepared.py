"""The hot statements run as PostgreSQL prepared statements, parsed and planned once per
connection instead of on every execution.

Django binds parameters on the client (psycopg's ``ClientCursor``): every statement reaches
the server as text, to be parsed, analysed and planned again. For the few statements a
generation runs every time (the worker's load, its claim and its completion, the reuse
lookups), that is most of the server's work: planning alone measured 0.16 to 0.22 ms each
against 0.05 to 0.2 ms of execution. ``prepared_cursor()`` gives a Django cursor (execute
wrappers, query logging and error wrapping as usual) whose statements psycopg prepares on
first use (server-side binding, ``prepare=True``) and then only executes.

Only a statement given to this cursor is prepared: Django's own queries keep client-side
binding. A statement must be one command with ``%s`` placeholders. Prepared statements
belong to a session, so ``DATABASE_PREPARED_STATEMENTS=0`` turns them off for a
transaction-mode pooler that does not carry them (PgBouncer before 1.21); psycopg keeps at
most ``prepare_max`` (100) per connection. Each connection keeps one such cursor for these
statements (``_KeptCursor``): a new psycopg cursor builds its adapters and a loader per
column again, about a third of the client's CPU for one of these reads. A migration that
changes the type of a column such a statement returns makes it fail in processes started
before it ("cached plan must not change result type") until they reconnect: restart them
after the migration, as a deploy does anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg import pq

from .pg_loaders import TIMESTAMPTZ_OID


class _PreparingCursor(psycopg.Cursor[Any]):
    """A server-side binding cursor that prepares every statement it executes."""

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Any:  # type: ignore[override]
        return super().execute(query, params, prepare=True, binary=binary)


class _LoggedPreparedCursor(CursorDebugWrapper):
    """Django's query log (``DEBUG``, ``CaptureQueriesContext``) for prepared statements:
    each with its values, as Django's own cursor logs it (a prepared statement leaves no
    client-side query text to read back)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return CursorWrapper.execute(self, sql, params)


def prepared_statements_enabled(connection: Any) -> bool:
    return connection.vendor == "postgresql" and bool(
        getattr(settings, "DATABASE_PREPARED_STATEMENTS", True)
    )


def allow_prepared_statements(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: let psycopg prepare the statements asked for.

    Django turns psycopg's preparation off (``prepare_threshold=None``) for poolers' sake;
    a threshold no statement reaches keeps it off for everything but ``prepare=True``."""
    if prepared_statements_enabled(connection) and connection.connection.prepare_threshold is None:
        connection.connection.prepare_threshold = 2**31 - 1


_KEPT = "_genpipe_kept_cursor"  # the attribute of the Django connection that holds it


class _KeptCursor:
    """The preparing cursor a Django connection keeps between its prepared statements,
    bound to the psycopg connection and the time zone it was made for."""

    __slots__ = ("busy", "cursor", "raw", "timezone")

    def __init__(self, raw: Any, timezone: Any, cursor: _PreparingCursor) -> None:
        self.raw, self.timezone, self.cursor, self.busy = raw, timezone, cursor, False

    def fits(self, connection: Any) -> bool:
        return (
            self.raw is connection.connection
            and self.timezone == connection.timezone
            and not self.cursor.closed
        )


def _new_cursor(connection: Any) -> _PreparingCursor:
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    # As Django's ``create_cursor``: the cursor's time zone when the connection's differs.
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    if connection.timezone != getattr(loader, "timezone", None):
        register_tzloader(connection.timezone, raw)
    return raw


@contextmanager
def prepared_cursor(alias: str = "default") -> Iterator[Any]:
    """``connections[alias].cursor()``, preparing its statements on PostgreSQL.

    On PostgreSQL the psycopg cursor underneath is the connection's kept one (a new one
    while that one is in use, or after the connection or its time zone changed): its
    results last until its next statement, so read them inside the ``with``."""
    connection = connections[alias]
    if not prepared_statements_enabled(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    # What ``BaseDatabaseWrapper._cursor`` does, with another cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    kept: _KeptCursor | None = getattr(connection, _KEPT, None)
    if kept is not None and kept.busy:  # a prepared read inside another: a cursor of its own
        with _wrapped(_new_cursor(connection), connection) as cursor:
            yield cursor
        return
    if kept is None or not kept.fits(connection):
        kept = _KeptCursor(connection.connection, connection.timezone, _new_cursor(connection))
        setattr(connection, _KEPT, kept)
    kept.busy = True
    try:
        yield _wrapped(kept.cursor, connection)  # left open for the next statement
    finally:
        kept.busy = False


def _wrapped(raw: _PreparingCursor, connection: Any) -> Any:
    """The Django cursor around ``raw``, as ``make_cursor`` and ``make_debug_cursor`` wrap."""
    connection.validate_thread_sharing()
    wrapper = _LoggedPreparedCursor if connection.queries_logged else CursorWrapper
    return wrapper(raw, connection)
