"""Reads of the generations app, always scoped to what the user may see."""

from __future__ import annotations

import functools
import uuid
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import DateTimeField, Field, JSONField, QuerySet

from core.auth import auth_memo
from core.errors import ApiError, ValidationFailed

from .compiled import compile_once, instance_copy, key_value, repeatable_read
from .errors import GenerationNotFound, WorkspaceNotFound
from .models import Generation, Workspace

User = AbstractBaseUser | AnonymousUser


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is a non-negative integer written in ASCII digits only."""
    return text.isascii() and text.isdigit()


def workspace_list(*, user: User) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    user_id: Any = user.pk
    return Workspace.objects.filter(memberships__user_id=user_id)


# A user with more memberships than this is looked up in the database every time.
MEMO_MAX_WORKSPACES = 20


def _memo_workspaces(user: User) -> list[Workspace] | None:
    """The user's workspaces, kept with its cached token (``core.auth``) for the token's
    short lifetime; ``None`` without a cached token or with too many workspaces. Shared
    by the token's requests: read them, copy the one handed out (``workspace_resolve``)."""
    memo = auth_memo(user)
    if memo is None:
        return None
    found = memo.get("workspaces")
    if found is None:
        rows = list(workspace_list(user=user).order_by("id")[: MEMO_MAX_WORKSPACES + 1])
        found = memo["workspaces"] = rows if len(rows) <= MEMO_MAX_WORKSPACES else []
    return found or None


def workspace_resolve(*, user: User, workspace_id: str | int | None) -> Workspace:
    """The workspace a request acts in: the named one, or the user's only one.

    A workspace the user is not a member of is reported as not found (404). Only ASCII
    digits make an id (``"²"`` and full-width digits pass ``str.isdigit()``); anything
    else is a slug.
    """
    known = _memo_workspaces(user)
    if known is not None:
        return instance_copy(_resolve_among(known, workspace_id))  # a request may change its own
    workspaces = workspace_list(user=user)
    if workspace_id not in (None, ""):
        text = str(workspace_id)
        lookup = {"id": int(text)} if ascii_digits(text) else {"slug": text}
        workspace = workspaces.filter(**lookup).first()
        if workspace is None:
            raise WorkspaceNotFound()
        return workspace
    return _only(list(workspaces[:2]))


def _resolve_among(known: list[Workspace], workspace_id: str | int | None) -> Workspace:
    if workspace_id not in (None, ""):
        text = str(workspace_id)
        if ascii_digits(text):
            wanted = int(text)
            match = [w for w in known if w.id == wanted]
        else:
            match = [w for w in known if w.slug == text]
        if not match:
            raise WorkspaceNotFound()
        return match[0]
    return _only(known[:2])


def _only(found: list[Workspace]) -> Workspace:
    if len(found) == 1:
        return found[0]
    if not found:
        raise ApiError(
            "You are not a member of any workspace.", code="no_workspace", status_code=403
        )
    raise ValidationFailed.single(
        "workspace_required", "workspace_id", "You belong to several workspaces: name one."
    )


def workspace_any_resolve(workspace: str | int) -> int:
    """The id of any workspace, named by id or slug (staff endpoints, not scoped to the
    user's memberships); ``404 workspace_not_found`` when there is none."""
    text = str(workspace)
    lookup = {"id": int(text)} if ascii_digits(text) else {"slug": text}
    found = Workspace.objects.filter(**lookup).values_list("id", flat=True).first()
    if found is None:
        raise WorkspaceNotFound()
    return int(found)


def _workspace_ids(user: User) -> list[int]:
    known = _memo_workspaces(user)
    if known is not None:
        return [w.id for w in known]
    return list(workspace_list(user=user).values_list("id", flat=True))


def generation_list(*, user: User) -> QuerySet[Generation]:
    """Generations of every workspace the user belongs to, newest first.

    The workspace ids are read first (one small query) and inlined: a member of one
    workspace gets ``workspace_id = X``, which PostgreSQL serves as an ordered range of
    ``gen_ws_*``; behind a subquery it sorted the whole workspace for every page.
    """
    return Generation.objects.filter(workspace_id__in=_workspace_ids(user)).order_by(
        "-created_at", "-id"
    )


def generation_rows(
    *, user: User, conditions: Sequence[tuple[str, str, Any]], fields: Sequence[str]
) -> GenerationRows:
    """``generation_list`` filtered by ``conditions`` (``filters.generation_filters_clean``),
    as rows of ``fields`` rather than models: see ``GenerationRows``."""
    return GenerationRows(
        workspace_ids=_workspace_ids(user), conditions=conditions, fields=tuple(fields)
    )


_OPERATORS = {"exact": "=", "gte": ">=", "lt": "<", "gt": ">"}
# The ordering of a list page and its reverse (DRF's cursor pagination, previous page).
_ORDERINGS = {("-created_at", "-id"): False, ("created_at", "id"): True}


@functools.cache
def _row_type(fields: tuple[str, ...]) -> Any:
    return namedtuple("GenerationRow", fields)


class GenerationRows:
    """Generations of some workspaces as rows of ``fields``, read with one SQL statement
    written here (compiling the ORM's took longer than running it) and without models
    (building 50 took ten times longer than reading their rows).

    DRF's ``CursorPagination`` drives it as it drives a QuerySet: ``order_by`` the list's
    ordering or its reverse, ``filter`` on the cursor's ``created_at`` position, one slice.
    The statement is the one ``generation_list`` compiles to (the same ordered index range,
    ``tests/generations/test_list_plan.py``). Rows hold what the ORM would have made of each
    column, except JSON columns, left as their text (the renderer embeds or decodes it), and
    on PostgreSQL UUIDs, left as their (canonical) text, and datetimes, written by
    PostgreSQL as DRF writes them (``to_char`` cost it less than ``isoformat`` cost Python).
    """

    def __init__(
        self,
        *,
        workspace_ids: Sequence[int],
        conditions: Sequence[tuple[str, str, Any]],
        fields: tuple[str, ...],
        reverse: bool = False,
    ) -> None:
        self.workspace_ids = list(workspace_ids)
        self.conditions = list(conditions)
        self.fields = fields
        self.reverse = reverse

    def order_by(self, *ordering: str) -> GenerationRows:
        if ordering not in _ORDERINGS:
            raise ValueError(f"unsupported ordering {ordering}")
        return GenerationRows(
            workspace_ids=self.workspace_ids,
            conditions=self.conditions,
            fields=self.fields,
            reverse=_ORDERINGS[ordering],
        )

    def filter(self, **lookups: Any) -> GenerationRows:
        added = []
        for key, value in lookups.items():
            field_name, _, lookup = key.partition("__")
            added.append((field_name, lookup or "exact", value))
        return GenerationRows(
            workspace_ids=self.workspace_ids,
            conditions=[*self.conditions, *added],
            fields=self.fields,
            reverse=self.reverse,
        )

    def __getitem__(self, window: slice) -> list[Any]:
        offset, stop = window.start or 0, window.stop
        if not self.workspace_ids or stop is None or stop <= offset:
            return []
        sql, params = self.sql(limit=stop - offset, offset=offset)

        def read() -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    _text_uuids(cursor.cursor)
                cursor.execute(sql, params)
                return cursor.fetchall()

        # Usually a list request's first statement: it stands in for the health check.
        return _rows_converted(repeatable_read(connection.alias, read), self.fields)

    def sql(self, *, limit: int, offset: int = 0) -> tuple[str, list[Any]]:
        """The statement and its parameters (``__getitem__``; the plan test explains it)."""
        quote = connection.ops.quote_name
        members = ", ".join(["%s"] * len(self.workspace_ids))
        where = [f"{quote(_column('workspace_id'))} IN ({members})"]
        params: list[Any] = list(self.workspace_ids)
        for field_name, lookup, value in self.conditions:
            field = _field(field_name)
            where.append(f"{quote(_column(field_name))} {_OPERATORS[lookup]} %s")
            params.append(field.get_db_prep_value(value, connection))
        direction = "ASC" if self.reverse else "DESC"
        created, pk = quote(_column("created_at")), quote(_column("id"))
        sql = (
            f"{_select(connection.vendor, self.fields)} WHERE {' AND '.join(where)} "
            f"ORDER BY {created} {direction}, {pk} {direction} LIMIT {int(limit)}"
        )
        return (sql + f" OFFSET {int(offset)}" if offset else sql), params


# A timestamp as DRF writes a datetime (``rendering._iso``): ISO 8601 in UTC with a ``Z``,
# microseconds (six digits) only when there are some. Not aliased: ORDER BY names columns.
_DRF_DATETIME = (
    "replace(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
)


@functools.cache
def _select(vendor: str, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = []
    for name in fields:
        column = quote(_column(name))
        if vendor == "postgresql" and isinstance(_field(name), DateTimeField):
            column = _DRF_DATETIME.format(column)
        columns.append(column)
    return f"SELECT {', '.join(columns)} FROM {quote(Generation._meta.db_table)}"


def _text_uuids(cursor: Any) -> None:
    """On this psycopg cursor only: UUIDs as their (canonical) text, ``str(uuid)``."""
    from psycopg.types.string import TextLoader

    cursor.adapters.register_loader("uuid", TextLoader)


def _rows_converted(rows: list[tuple[Any, ...]], fields: tuple[str, ...]) -> list[Any]:
    """The rows with Django's converters applied (SQLite's datetimes, decimals and UUIDs;
    none on PostgreSQL) but JSON's (the text is kept), as ``_row_type(fields)``."""
    make = _row_type(fields)._make
    converting = [
        (index, column, _converters(column))
        for index, column in _converted_columns(connection.vendor, fields)
    ]
    if not converting:
        return [make(row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for index, column, converters in converting:
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        out.append(make(values))
    return out


def _converters(column: Any) -> list[Any]:
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection)


@functools.cache
def _converted_columns(vendor: str, fields: tuple[str, ...]) -> tuple[tuple[int, Any], ...]:
    """The columns of ``fields`` that have converters on this vendor, with their index."""
    found = []
    for index, name in enumerate(fields):
        field = _field(name)
        if isinstance(field, JSONField):
            continue
        column = field.get_col(Generation._meta.db_table)
        if _converters(column):
            found.append((index, column))
    return tuple(found)


def _field(name: str) -> Field[Any, Any]:
    field = Generation._meta.get_field(name)
    assert isinstance(field, Field), name
    return field


def _column(name: str) -> str:
    column = _field(name).column
    assert column, name
    return column


_ID = uuid.UUID("00000000-0000-4000-8000-0000000ca11e")  # sentinels, never real values
_USER = -7_301_946_553


def _visible_queryset(alias: str) -> tuple[QuerySet[Generation], dict[Any, str]]:
    # No ordering: the key finds one row.
    sentinel = key_value(Generation, _ID, alias)
    queryset = Generation.objects.filter(id=_ID).visible_to(_USER).order_by()[:1]
    return queryset, {sentinel: "id", _USER: "user"}


def generation_get(
    *, user: User, generation_id: uuid.UUID | str, alias: str = "default"
) -> Generation:
    """The generation if ``user`` is a member of its workspace, else ``GenerationNotFound``
    (also for a malformed id). One query, compiled once per process
    (``generations.compiled``): a polling client asks for it again and again."""
    value = key_value(Generation, generation_id, alias)
    if not user.is_authenticated or value is None:
        raise GenerationNotFound()
    compiled = compile_once("generation_get", alias, lambda: _visible_queryset(alias))
    found = compiled.instances(alias, {"id": value, "user": user.pk})
    if not found:
        raise GenerationNotFound()
    return found[0]  # type: ignore[no-any-return]
