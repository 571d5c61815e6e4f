"""Persistent state of the generation pipeline.

Rows only: every write with a side effect goes through ``generations.services``; a status
changes in ``generations.services.lifecycle`` and nowhere else.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class ContentRating(models.TextChoices):
    """Content rating scale of the social context, least to most permissive."""

    SFW = "sfw", "SFW"
    ROMANTIC = "romantic", "Romantic"
    MATURE_IMPLIED = "mature_implied", "Mature (implied)"
    RESTRICTED = "restricted", "Restricted"


class OperationType(models.TextChoices):
    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_TO_IMAGE = "image_to_image"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_EXTEND = "video_extend"
    VIDEO_TRANSITION = "video_transition"
    FUSION = "fusion"
    DIALOGUE = "dialogue"
    NPC_RESPONSE = "npc_response"


TEXT_OPERATIONS = frozenset({OperationType.DIALOGUE, OperationType.NPC_RESPONSE})
IMAGE_OPERATIONS = frozenset({OperationType.TEXT_TO_IMAGE, OperationType.IMAGE_TO_IMAGE})


class Status(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
# A generation in one of these statuses answers identical requests (dedup and its cache
# slot) until its slot is invalidated.
REUSABLE_STATUSES = (Status.PENDING, Status.PROCESSING, Status.COMPLETED)


class Strategy(models.TextChoices):
    ONCE = "once"
    PER_PLAYTHROUGH = "per_playthrough"
    PER_PLAYER = "per_player"
    ALWAYS = "always"


class Purpose(models.TextChoices):
    GAP_FILL = "gap_fill"
    VARIATION = "variation"
    ADAPTIVE = "adaptive"
    AMBIENT = "ambient"


class Workspace(models.Model):
    """A tenant: every generation, prompt family and cache slot belongs to one."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    max_content_rating = models.CharField(
        max_length=20,
        choices=ContentRating.choices,
        default=ContentRating.ROMANTIC,
        help_text="World maximum content rating; requests are clamped to it.",
    )
    default_provider = models.ForeignKey(
        "Provider", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="WorkspaceMembership", related_name="workspaces"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class WorkspaceMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="uniq_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.workspace_id}"


class Provider(models.Model):
    """A configured AI provider. The credential lives in the env var it names, never here."""

    class Adapter(models.TextChoices):
        SANDBOX = "sandbox"
        OPENAI_COMPATIBLE = "openai_compatible"
        ASYNC_JOB = "async_job"

    id = models.SlugField(max_length=50, primary_key=True)
    name = models.CharField(max_length=200)
    adapter = models.CharField(max_length=32, choices=Adapter.choices)
    base_url = models.URLField(max_length=500, blank=True)
    credential_env_var = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable with the key."
    )
    operation_types = models.JSONField(
        default=list, blank=True, help_text="Supported operation types; empty means none."
    )
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="Adapter settings, e.g. {'latency_ms': 0, 'failure_rate': 0.0} for sandbox.",
    )
    price_per_1k_input_tokens = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("0")
    )
    price_per_1k_output_tokens = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("0")
    )
    price_per_image = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    price_per_video_second = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("0")
    )
    connect_timeout_s = models.FloatField(default=5.0, validators=[MinValueValidator(0.1)])
    read_timeout_s = models.FloatField(default=60.0, validators=[MinValueValidator(0.1)])
    breaker_cooldown_s = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1)],
        help_text=(
            "Seconds the circuit breaker stays open before one probe call; doubles after each "
            "failed probe, up to GENPIPE_BREAKER_COOLDOWN_CAP_S."
        ),
    )
    enabled = models.BooleanField(default=True)
    fallback_provider = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallback_for"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    def supports(self, operation_type: str) -> bool:
        return operation_type in (self.operation_types or [])


class Allocation(models.TextChoices):
    """How a family with several active versions assigns new players (sticky either way)."""

    FIXED = "fixed"  # the versions' weights
    ADAPTIVE = "adaptive"  # Thompson sampling on ``metric`` (experiments.stats)


class PromptFamily(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="prompt_families"
    )
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    allocation = models.CharField(
        max_length=16, choices=Allocation.choices, default=Allocation.FIXED
    )
    metric = models.CharField(
        max_length=64,
        default="rating",
        help_text="Feedback metric the experiment verdict and adaptive allocation use.",
    )
    min_samples = models.PositiveIntegerField(
        default=10, help_text="Feedback values per version before anything is decided."
    )
    floor_weight = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Smallest share of new assignments an active version keeps (adaptive).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "prompt families"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="uniq_family_slug")
        ]

    def __str__(self) -> str:
        return self.slug


class PromptVersion(models.Model):
    """A template with ``{{variable}}`` placeholders.

    ``variables`` maps each declared name to its default, or to ``null`` when the request
    must supply it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.ForeignKey(PromptFamily, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    template = models.TextField()
    variables = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    weight = models.PositiveIntegerField(
        default=1, help_text="A/B weight among the family's active versions."
    )
    labels = models.JSONField(
        default=list, blank=True, help_text="Names a request may use (template_label)."
    )
    notes = models.TextField(blank=True)
    adaptive_weight = models.FloatField(
        null=True,
        blank=True,
        editable=False,
        help_text="Share of new assignments under adaptive allocation (set by experiments).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family", "-version_number"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version_number"], name="uniq_version")
        ]

    def __str__(self) -> str:
        return f"{self.family_id}@v{self.version_number}"


class PromptAssignment(models.Model):
    """The version a player or playthrough was given in a family's A/B test (sticky)."""

    family = models.ForeignKey(PromptFamily, on_delete=models.CASCADE, related_name="assignments")
    key = models.CharField(max_length=200)
    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["family", "key"], name="uniq_prompt_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.key}→{self.version_id}"


class GenerationQuerySet(models.QuerySet["Generation"]):
    def reusable(self) -> GenerationQuerySet:
        """Generations that may answer an identical request: pending, processing or
        completed, and not invalidated (their cache slot was not deleted or flushed)."""
        return self.filter(status__in=REUSABLE_STATUSES, invalidated_at__isnull=True)


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
            models.Index(fields=["workspace", "reproducible_hash"], name="gen_ws_hash"),
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
        node = (self.config or {}).get("config") or {}
        fallback = node.get("fallback") if isinstance(node, dict) else None
        return fallback if isinstance(fallback, dict) else {}

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


class ProviderBreaker(models.Model):
    """A provider's circuit breaker: closed, open until ``open_until``, or half-open.

    Runtime state only (the Provider row is configuration, edited in the admin); changed
    by ``generations.services.breaker`` alone, with conditional UPDATEs.
    """

    class State(models.TextChoices):
        CLOSED = "closed"
        OPEN = "open"
        HALF_OPEN = "half_open"

    provider = models.OneToOneField(
        Provider, primary_key=True, on_delete=models.CASCADE, related_name="breaker"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.CLOSED)
    reason = models.CharField(max_length=255, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    probe_started_at = models.DateTimeField(null=True, blank=True)
    failed_probes = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_calls = models.PositiveIntegerField(default=0)
    window_failures = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.provider_id}: {self.state}"


class IdempotencyRecord(models.Model):
    """First outcome of a POST carrying an ``Idempotency-Key``, kept 24 hours."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="uniq_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
