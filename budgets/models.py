"""Cost budgets, their durable ledger, alerts and what reuse saved.

The figures of a budget (spent, reserved) are sums of its ledger rows for the period:
the store (``budgets.store``) keeps running counters of the current period, the ledger
is what they are rebuilt from.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from generations.models import OperationType, Provider, Workspace


def default_thresholds() -> list[float]:
    return [0.5, 0.8, 1.0]


class Budget(models.Model):
    class Period(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        TOTAL = "total"

    class Mode(models.TextChoices):
        HARD = "hard", "hard (rejects)"
        SOFT = "soft", "soft (alerts only)"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="budgets")
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    operation_type = models.CharField(
        max_length=32, choices=OperationType.choices, null=True, blank=True
    )
    limit_usd = models.DecimalField(
        max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal("0"))]
    )
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.HARD)
    alert_thresholds = models.JSONField(default=default_thresholds, blank=True)
    # Counters of the database store for the period starting at ``counters_period_start``.
    # Millionths of a dollar: integers compare exactly on every database.
    spent_micros = models.BigIntegerField(default=0, editable=False)
    reserved_micros = models.BigIntegerField(default=0, editable=False)
    counters_period_start = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace", "id"]
        indexes = [models.Index(fields=["workspace"], name="budget_ws")]

    def __str__(self) -> str:
        scope = "/".join(x for x in (self.provider_id, self.operation_type) if x) or "all"
        return f"{self.workspace_id}:{scope} ${self.limit_usd}/{self.period}"


class BudgetEntry(models.Model):
    """One ledger row: a reservation, a settlement (actual cost) or a release."""

    class Kind(models.TextChoices):
        RESERVATION = "reservation"
        SETTLEMENT = "settlement"
        RELEASE = "release"

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="entries")
    generation_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_micros = models.BigIntegerField(help_text="Millionths of a dollar.")
    period_start = models.DateTimeField(help_text="The period of the reservation.")
    at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "budget entries"
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["budget", "period_start", "kind"], name="budget_entry_period"),
            models.Index(fields=["generation_id"], name="budget_entry_gen"),
        ]
        constraints = [
            # One reservation and one release per generation and budget (settlements may
            # add a late adjustment, e.g. a result discarded after a cancel).
            models.UniqueConstraint(
                fields=["budget", "generation_id", "kind"],
                condition=Q(kind__in=["reservation", "release"]),
                name="uniq_budget_entry_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_micros}µ$ ({self.generation_id})"


# The event type of each alert kind on the webhook feed.
ALERT_EVENT_TYPES = {
    "threshold": "budget.threshold_reached",
    "forecast": "budget.forecast_exceeded",
}


class BudgetAlert(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold"
        FORECAST = "forecast"

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    threshold = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Fraction of the limit (0 for forecasts)."
    )
    period_start = models.DateTimeField()
    spent_usd = models.DecimalField(max_digits=14, decimal_places=6)
    limit_usd = models.DecimalField(max_digits=14, decimal_places=6)
    forecast_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField()
    emailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "kind", "threshold", "period_start"], name="uniq_budget_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.threshold} of budget {self.budget_id}"

    @property
    def event_type(self) -> str:
        return ALERT_EVENT_TYPES[self.kind]


class ReuseSaving(models.Model):
    """What answering creates from existing generations saved, per workspace and day."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    reused = models.PositiveIntegerField(default=0)
    saved_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day"], name="uniq_reuse_saving_day")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.day}: ${self.saved_usd}"
