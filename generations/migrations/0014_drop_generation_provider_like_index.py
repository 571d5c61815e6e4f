# Django gives a varchar foreign key a second index, with varchar_pattern_ops, for LIKE
# queries; nothing matches providers with LIKE, and each status change of a generation
# writes every index of the row (its status is indexed, so no update is HOT). The plain
# index on provider_id stays (the foreign key's).

from typing import Any

from django.db import migrations

LIKE_INDEX = "generations_generation_provider_id_8494b49f_like"


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{LIKE_INDEX}"')


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{LIKE_INDEX}"'
            ' ON "generations_generation" ("provider_id" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    # CONCURRENTLY on PostgreSQL: outside a transaction, no lock that blocks the table.
    atomic = False

    dependencies = [
        ("generations", "0013_generation_hash_created_index"),
    ]

    operations = [migrations.RunPython(_drop, _create, elidable=False)]
