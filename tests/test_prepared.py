"""The hot statements are PostgreSQL prepared statements: parsed and planned once per
connection, logged as Django logs its own, and off when the setting says so."""

from __future__ import annotations

import pytest
from django.db import connection
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
