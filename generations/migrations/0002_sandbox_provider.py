"""The built-in offline provider exists right after ``migrate``."""

from decimal import Decimal

from django.db import migrations

ALL_OPERATIONS = [
    "text_to_image", "image_to_image", "text_to_video", "image_to_video", "video_extend",
    "video_transition", "fusion", "dialogue", "npc_response",
]


def create_sandbox(apps, schema_editor):
    Provider = apps.get_model("generations", "Provider")
    Provider.objects.get_or_create(
        id="sandbox",
        defaults={
            "name": "Sandbox (offline, deterministic)",
            "adapter": "sandbox",
            "operation_types": ALL_OPERATIONS,
            "settings": {"latency_ms": 0, "failure_rate": 0.0},
            # Realistic list prices so dashboards show meaningful numbers in the demo.
            "price_per_1k_input_tokens": Decimal("0.000150"),
            "price_per_1k_output_tokens": Decimal("0.000600"),
            "price_per_image": Decimal("0.040000"),
            "price_per_video_second": Decimal("0.050000"),
        },
    )


def remove_sandbox(apps, schema_editor):
    apps.get_model("generations", "Provider").objects.filter(id="sandbox").delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0001_initial")]
    operations = [migrations.RunPython(create_sandbox, remove_sandbox)]
