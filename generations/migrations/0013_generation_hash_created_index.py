# The dedup lookup reads the newest rows of a hash from an index on the hash, whatever the
# planner's statistics say about the workspace's size (services.lookups).

from django.db import migrations, models

from core.migration_operations import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    # Both are CONCURRENTLY on PostgreSQL: outside a transaction.
    atomic = False

    dependencies = [
        ("generations", "0012_provider_settings_help_json"),
    ]

    operations = [
        AddIndexOnline(
            model_name="generation",
            index=models.Index(
                fields=["reproducible_hash", "-created_at"], name="gen_hash_created"
            ),
        ),
        RemoveIndexOnline(model_name="generation", name="gen_ws_hash"),
    ]
