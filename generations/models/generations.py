"""Generations, their audit events and provider attempts."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .accounts import Workspace
from .prompts import PromptVersion
from .providers import Provider
from .vocabulary import (
    REUSABLE_STATUSES,
    TERMINAL_STATUSES,
    OperationType,
    Purpose,
    Status,
    Strategy,
)


class GenerationQuerySet(models.QuerySet["Generation"]):
    def reusable(self) -> GenerationQuerySet:
        """Generations that may answer an identical request: pending, processing or
        completed, and not invalidated (their cache slot was not deleted or flushed)."""
        return self.filter(status__in=REUSABLE_STATUSES, invalidated_at__isnull=True)

    def visible_to(self, user_id: Any) -> GenerationQuerySet:
        """Generations of the workspaces ``user_id`` is a member of (what a member may read;
        one join, so a lookup by key stays one row)."""
        return self.filter(workspace__memberships__user_id=user_id)


def node_fallback_of(config: dict[str, Any] | None) -> dict[str, Any]:
    """The ``fallback`` block of a generation's ``config`` (its node's), empty when absent."""
    node = (config or {}).get("config") or {}
    fallback = node.get("fallback") if isinstance(node, dict) else None
    return fallback if isinstance(fallback, dict) else {}


class Generation(models.Model):
    """One requested piece of content and everything known about how it was made."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Covered by the gen_ws_* indexes, which all lead with the workspace.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="generations", db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    operation_type = models.CharField(max_length=32, choices=OperationType.choices)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="generations")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    strategy = models.CharField(max_length=20, choices=Strategy.choices)
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)

    config = models.JSONField(default=dict, help_text="The submitted request, as validated.")
    canonical_params = models.JSONField(default=dict)
    reproducible_hash = models.CharField(max_length=64)
    cache_key = models.CharField(max_length=600, blank=True)
    invalidated_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When its cache slot was invalidated: it no longer answers identical "
        "requests (they generate again); it is still readable by id.",
    )

    prompt_version = models.ForeignKey(
        PromptVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="generations"
    )
    template_variables = models.JSONField(default=dict, blank=True)
    final_prompt = models.TextField(blank=True)
    social_context = models.JSONField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, editable=False
    )
    priority = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(
        default=0, help_text="Provider attempts started (the worker's claim counter)."
    )
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current attempt is overdue (sweeper)."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the awaited next attempt or poll is due."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current attempt was claimed."
    )
    claimed_by = models.CharField(
        max_length=255, blank=True, help_text="Task delivery and worker process of the claim."
    )
    failover_from = models.CharField(
        max_length=50, blank=True, help_text="The provider this generation failed over from."
    )
    latency_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="started → terminal, for generations that ran."
    )

    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    retry_count = models.PositiveIntegerField(default=0)
    parent = models.ForeignKey(  # indexed by gen_parent
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        db_index=False,
    )

    result = models.JSONField(null=True, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    estimated_cost_usd = models.DecimalField(
        max_digits=14,
        decimal_places=6,
        default=Decimal("0"),
        editable=False,
        help_text="Cost estimated before create (services.pricing.cost_estimate).",
    )

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Lists page newest first by (created_at, id): every list index ends with both, so
        # a page is an ordered index range, never a sort of the whole workspace.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="gen_created"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="gen_ws_created"),
            models.Index(
                fields=["workspace", "status", "-created_at", "-id"], name="gen_ws_status"
            ),
            models.Index(
                fields=["workspace", "operation_type", "-created_at", "-id"], name="gen_ws_op"
            ),
            models.Index(
                fields=["workspace", "provider", "-created_at", "-id"], name="gen_ws_provider"
            ),
            models.Index(
                fields=["workspace", "strategy", "-created_at", "-id"], name="gen_ws_strategy"
            ),
            # The dedup lookup (services.lookups): the newest rows of a hash, nearly unique.
            models.Index(fields=["reproducible_hash", "-created_at"], name="gen_hash_created"),
            # Invalidating a slot marks the generations filed under it (caching: the flush).
            models.Index(
                fields=["workspace", "cache_key"],
                name="gen_ws_key_live",
                condition=Q(invalidated_at__isnull=True) & ~Q(cache_key=""),
            ),
            models.Index(fields=["parent"], name="gen_parent"),
            models.Index(
                fields=["provider", "completed_at"],
                name="gen_provider_done",
                condition=Q(completed_at__isnull=False),
            ),
            models.Index(
                fields=["operation_type", "completed_at"],
                name="gen_op_done",
                condition=Q(completed_at__isnull=False),
            ),
            models.Index(
                fields=["status", "created_at"],
                name="gen_active",
                condition=Q(status__in=["pending", "processing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation_type} {self.id}"

    @property
    def node_fallback(self) -> dict[str, Any]:
        """The node config's ``fallback`` block as submitted (empty when absent)."""
        return node_fallback_of(self.config)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class GenerationEvent(models.Model):
    """Append-only audit row, one per status change."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["generation", "at"], name="event_gen_at")]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'}→{self.to_status}"


class ProviderAttempt(models.Model):
    """One call to a provider on behalf of a generation."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        DISCARDED = "discarded"
        ABANDONED = "abandoned"  # its worker died (or lost the database) mid-call

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="attempts")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="attempts")
    attempt_number = models.PositiveIntegerField(default=1)
    operation_type = models.CharField(max_length=32, choices=OperationType.choices)
    request_summary = models.JSONField(default=dict, blank=True)
    provider_job_id = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["generation", "attempt_number"], name="attempt_gen"),
            models.Index(fields=["provider", "started_at"], name="attempt_provider_time"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}#{self.attempt_number} {self.outcome}"
