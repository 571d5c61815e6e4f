"""The generation table's provider key: the foreign key's index, no LIKE index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TABLE = "generations_generation"


def _provider_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s"
            " AND (indexdef LIKE %s OR indexdef LIKE %s)",
            [TABLE, "%(provider_id)", "%(provider_id varchar_pattern_ops)"],
        )
        return sorted(row[0].split(" USING ")[1] for row in cursor.fetchall())


def test_the_provider_key_has_one_plain_index_and_the_migration_reverses():
    assert _provider_indexes() == ["btree (provider_id)"]
    executor = MigrationExecutor(connection)
    executor.migrate([("generations", "0013_generation_hash_created_index")])
    try:
        assert _provider_indexes() == [
            "btree (provider_id varchar_pattern_ops)",
            "btree (provider_id)",
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("generations", "0014_drop_generation_provider_like_index")])
    assert _provider_indexes() == ["btree (provider_id)"]
