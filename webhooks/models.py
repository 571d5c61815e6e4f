"""Webhook endpoints of a workspace and the deliveries of events to them: a generation's
status changes (``GenerationEvent``) and budget alerts (``BudgetAlert``).

Rows only: every write goes through ``webhooks.services``. A signing secret is stored
sealed (``webhooks.signing``), never in clear, and no form, list or admin page shows it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from budgets.models import ALERT_EVENT_TYPES, BudgetAlert
from generations.models import GenerationEvent, Workspace

EVENT_TYPES = (
    "generation.pending",
    "generation.processing",
    "generation.completed",
    "generation.failed",
    "generation.cancelled",
    *ALERT_EVENT_TYPES.values(),
)


class Endpoint(models.Model):
    """A URL that receives the workspace's events, signed with its secret."""

    class DisabledReason(models.TextChoices):
        NONE = "", "-"
        GONE = "gone", "Receiver answered 410 Gone"
        FAILURE_STREAK = "failure_streak", "Too many failed attempts in a row"
        MANUAL = "manual", "Disabled by a user"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=2000)
    events = models.JSONField(
        default=list, blank=True, help_text="Event types delivered; empty means all."
    )
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    secret_sealed = models.TextField(editable=False)
    previous_secret_sealed = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    failure_streak = models.PositiveIntegerField(
        default=0, help_text="Failed attempts in a row; a success resets it."
    )
    disabled_reason = models.CharField(
        max_length=32, blank=True, choices=DisabledReason.choices, default=DisabledReason.NONE
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["workspace", "enabled"], name="webhook_ws_enabled")]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Delivery(models.Model):
    """One event for one endpoint: the body signed and sent, the same for every attempt,
    under a ``webhook-id`` that never changes (receivers deduplicate on it). The event is
    a generation's status change (``event``) or a budget alert (``budget_alert``), never
    both; one delivery per endpoint and event."""

    class State(models.TextChoices):
        PENDING = "pending"  # waiting for its first attempt or its next retry
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # stopped without retrying: 410, or the endpoint disabled
        GAVE_UP = "gave_up"  # every retry of the schedule failed

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(
        GenerationEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Indexed by ``uniq_delivery_budget_alert`` (its leading column).
    budget_alert = models.ForeignKey(
        BudgetAlert,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    webhook_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    body = models.TextField(help_text="The exact JSON sent and signed.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    schedule_position = models.PositiveIntegerField(
        default=0, help_text="Failed attempts since the retry schedule (re)started."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="uniq_delivery_event"),
            models.UniqueConstraint(
                fields=["budget_alert", "endpoint"], name="uniq_delivery_budget_alert"
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=False, budget_alert__isnull=True)
                | Q(event__isnull=True, budget_alert__isnull=False),
                name="delivery_one_event",
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_created"),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_due",
                condition=Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type} ({self.state})"


class DeliveryAttempt(models.Model):
    """One POST of a delivery to its endpoint."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="uniq_delivery_attempt")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.outcome}"
