"""The hot statements are PostgreSQL prepared statements: parsed and planned once per
connection, logged as Django logs its own, and off when the setting says so."""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.prepared import prepared_cursor
from generations.models import Generation
from generations.services.lookups import reusable_by_hash

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _prepared_lookups() -> list[tuple[str, int]]:
    """The session's prepared statements that read generations by hash, with how many
    times each ran (custom and generic plans; each execution uses one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, custom_plans + generic_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%reproducible_hash%"],
        )
        return [(str(sql), int(runs)) for sql, runs in cursor.fetchall()]


def _generation(workspace, sandbox) -> Generation:
    return Generation.objects.create(
        workspace=workspace, provider=sandbox, operation_type="dialogue", reproducible_hash="f" * 64
    )


def test_a_hot_lookup_is_prepared_once_and_then_only_executed(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    for _ in range(3):
        found = reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
        assert found == generation
    assert reusable_by_hash(workspace_id=workspace.id, digest="0" * 64) is None
    (statement, runs), *others = _prepared_lookups()
    assert others == [] and runs == 4  # one statement, parsed once, run four times
    assert "$1" in statement  # its values are bound, not spliced into the text


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
    raw = connection.connection
    connection.close()  # at CONN_MAX_AGE, say: the session and its statements end
    found = reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
    assert found == generation
    assert connection.connection is not raw
    assert [runs for _, runs in _prepared_lookups()] == [1]


def test_the_query_log_shows_a_prepared_statement_with_its_values(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    with CaptureQueriesContext(connection) as queries:
        reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
    (logged,) = [q["sql"] for q in queries.captured_queries]
    assert generation.reproducible_hash in logged and "generations_generation" in logged


def test_turned_off_nothing_is_prepared(settings, workspace, sandbox):
    settings.DATABASE_PREPARED_STATEMENTS = False
    generation = _generation(workspace, sandbox)
    for _ in range(2):
        found = reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
        assert found == generation
    assert _prepared_lookups() == []


def test_timestamps_read_through_a_prepared_statement_are_djangos(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT created_at FROM generations_generation WHERE id = %s", [generation.id]
        )
        (created_at,) = cursor.fetchone()
    assert created_at == Generation.objects.get(id=generation.id).created_at
    assert created_at.utcoffset().total_seconds() == 0


_HASH_OF = "SELECT reproducible_hash FROM generations_generation WHERE id = %s"


def test_the_prepared_statements_of_a_connection_share_one_psycopg_cursor(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    used = []
    for _ in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(_HASH_OF, [generation.id])
            assert cursor.fetchone() == (generation.reproducible_hash,)
            used.append(cursor.cursor)
    assert used[0] is used[1] is used[2] and not used[0].closed
    assert found_by_lookup(generation) == generation  # the compiled reads go through it too


def found_by_lookup(generation: Generation) -> Generation | None:
    return reusable_by_hash(
        workspace_id=generation.workspace_id, digest=generation.reproducible_hash
    )


def test_a_prepared_statement_inside_another_gets_a_cursor_of_its_own(workspace, sandbox):
    first = _generation(workspace, sandbox)
    second = Generation.objects.create(
        workspace=workspace, provider=sandbox, operation_type="dialogue", reproducible_hash="e" * 64
    )
    with prepared_cursor() as outer:
        outer.execute(_HASH_OF, [first.id])
        with prepared_cursor() as inner:
            inner.execute(_HASH_OF, [second.id])
            assert inner.fetchone() == ("e" * 64,)
            assert inner.cursor is not outer.cursor
        assert outer.fetchone() == ("f" * 64,)  # the outer statement's rows are intact
    assert inner.cursor.closed and not outer.cursor.closed
    with prepared_cursor() as again:  # the connection still keeps the outer one
        assert again.cursor is outer.cursor


def test_the_kept_cursor_serves_on_after_a_statement_failed(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    with pytest.raises(DataError), transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    kept = cursor.cursor
    with prepared_cursor() as cursor:
        cursor.execute(_HASH_OF, [generation.id])
        assert cursor.fetchone() == ("f" * 64,)
        assert cursor.cursor is kept


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_cursor(workspace, sandbox):
    generation = _generation(workspace, sandbox)
    with prepared_cursor() as cursor:
        cursor.execute(_HASH_OF, [generation.id])
        before = cursor.cursor
    connection.close()
    with prepared_cursor() as cursor:
        cursor.execute(_HASH_OF, [generation.id])
        assert cursor.fetchone() == ("f" * 64,)
        assert cursor.cursor is not before and cursor.cursor.connection is connection.connection
