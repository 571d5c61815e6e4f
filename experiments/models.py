"""Feedback on generations and exposures of prompt versions (the inputs of experiments)."""

from __future__ import annotations

from django.db import models

from generations.models import Generation, PromptVersion, Workspace


class MetricKind(models.TextChoices):
    BOOLEAN = "boolean"  # true/false, stored as 1/0
    FLOAT = "float"  # any finite number
    RATING = "rating"  # integer 1-5


BUILTIN_METRIC = "rating"


class FeedbackMetric(models.Model):
    """A quality signal a workspace collects (``rating`` exists in every workspace)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.SlugField(max_length=64)
    kind = models.CharField(max_length=16, choices=MetricKind.choices)
    higher_is_better = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="uniq_metric_name")
        ]

    def __str__(self) -> str:
        return self.name


class Feedback(models.Model):
    """One rater's value of one metric for one generation; a repeat replaces it."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="feedback")
    metric = models.ForeignKey(FeedbackMetric, on_delete=models.CASCADE, related_name="feedback")
    # Denormalized from the generation, so experiment statistics group without a join on it.
    prompt_version = models.ForeignKey(
        PromptVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rater_id = models.CharField(max_length=200)
    value = models.FloatField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "metric", "rater_id"], name="uniq_feedback_rater"
            )
        ]
        indexes = [models.Index(fields=["prompt_version", "metric"], name="feedback_version")]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.value}"


class Exposure(models.Model):
    """A create answered with an existing generation (cache or dedup hit): one more player
    saw content made by that generation's prompt version."""

    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="+")
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["version", "at"], name="exposure_version")]

    def __str__(self) -> str:
        return f"{self.reason} {self.version_id}"
