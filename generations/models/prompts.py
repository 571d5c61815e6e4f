"""Versioned prompt templates: families, versions, sticky A/B assignments."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .accounts import Workspace


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
        """``npc-greeting v3``: the family's slug (one query unless the family is loaded:
        lists select it) and the version number."""
        return f"{self.family.slug} v{self.version_number}"


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
