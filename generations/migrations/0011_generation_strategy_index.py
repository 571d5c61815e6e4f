# The list's strategy filter is an ordered index range, like its other filters.

from django.db import migrations, models

from core.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    # The index is built CONCURRENTLY on PostgreSQL: outside a transaction.
    atomic = False

    dependencies = [
        ("generations", "0010_generation_estimated_cost"),
    ]

    operations = [
        AddIndexOnline(
            model_name="generation",
            index=models.Index(
                fields=["workspace", "strategy", "-created_at", "-id"], name="gen_ws_strategy"
            ),
        ),
    ]
