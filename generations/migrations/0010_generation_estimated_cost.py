from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generations", "0009_prompt_library")]

    operations = [
        migrations.AddField(
            model_name="generation",
            name="estimated_cost_usd",
            field=models.DecimalField(
                decimal_places=6,
                default=Decimal("0"),
                editable=False,
                help_text="Cost estimated before create (services.pricing.cost_estimate).",
                max_digits=14,
            ),
        ),
    ]
