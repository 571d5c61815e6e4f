"""Configured providers and their circuit breakers (runtime state apart)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models


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
        help_text=(
            'Adapter settings as a JSON object, e.g. {"latency_ms": 0, "failure_rate": 0.0} '
            "for sandbox."
        ),
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
