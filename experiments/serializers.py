"""Request and response shapes of the prompt library, feedback and experiment API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from generations.models import Allocation, PromptFamily, PromptVersion
from generations.serializers import (
    BoundedDictField,
    PlayerContextSerializer,
    SceneSerializer,
    SocialContextSerializer,
    StrictSerializer,
    StyleSerializer,
)

from .models import Feedback, FeedbackMetric, MetricKind


def _label() -> serializers.CharField:
    return serializers.CharField(max_length=64)


class FamilyWriteSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    allocation = serializers.ChoiceField(Allocation.choices, required=False)
    metric = serializers.SlugField(max_length=64, required=False)
    min_samples = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    floor_weight = serializers.FloatField(min_value=0.0, max_value=0.5, required=False)
    workspace_id = serializers.CharField(max_length=64, required=False)


class FamilyPatchSerializer(FamilyWriteSerializer):
    slug = None  # type: ignore[assignment]
    name = serializers.CharField(max_length=200, required=False)


class FamilySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="title")

    class Meta:
        model = PromptFamily
        fields = [
            "slug",
            "name",
            "description",
            "allocation",
            "metric",
            "min_samples",
            "floor_weight",
            "created_at",
        ]


class VersionWriteSerializer(StrictSerializer):
    template = serializers.CharField(max_length=8000, trim_whitespace=False)
    variables = BoundedDictField(
        child=serializers.JSONField(allow_null=True), max_keys=50, required=False
    )
    weight = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    active = serializers.BooleanField(required=False)
    labels = serializers.ListField(child=_label(), max_length=16, required=False)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class VersionPatchSerializer(serializers.Serializer):
    """Only weight and labels change; other known keys give ``version_immutable``."""

    weight = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    labels = serializers.ListField(child=_label(), max_length=16, required=False)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("The body must be a JSON object.")
        known = set(self.fields)
        value = super().to_internal_value({k: v for k, v in data.items() if k in known})
        value.update({k: v for k, v in data.items() if k not in known})  # refused by service
        return value


class VersionSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="version_number")
    active = serializers.BooleanField(source="is_active")
    prompt_version_id = serializers.UUIDField(source="id")

    class Meta:
        model = PromptVersion
        fields = [
            "number",
            "prompt_version_id",
            "template",
            "variables",
            "weight",
            "active",
            "labels",
            "notes",
            "adaptive_weight",
            "created_at",
        ]


class RenderSerializer(StrictSerializer):
    """The prompt fields of a create body (``config`` may carry only its prompt fields)."""

    class RenderConfig(StrictSerializer):
        allow_extra = True  # a whole create config is accepted; only prompt fields are read
        template_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
        prompt = serializers.CharField(
            max_length=4096, required=False, allow_blank=True, trim_whitespace=False
        )
        social_context = SocialContextSerializer(required=False)
        style = StyleSerializer(required=False)  # type: ignore[assignment]  # moods: variables

    config = RenderConfig(required=False)
    template_id = serializers.CharField(max_length=100, required=False)
    template_label = serializers.CharField(max_length=64, required=False)
    prompt_version_id = serializers.UUIDField(required=False)
    template_variables = BoundedDictField(
        child=serializers.JSONField(), max_keys=50, required=False
    )
    from_scene = SceneSerializer(required=False)
    to_scene = SceneSerializer(required=False)
    player_context = PlayerContextSerializer(required=False)
    social_context = SocialContextSerializer(required=False)
    workspace_id = serializers.CharField(max_length=64, required=False)


class RenderResultSerializer(serializers.Serializer):
    final_prompt = serializers.CharField()
    prompt_version_id = serializers.UUIDField(allow_null=True)
    variables = serializers.DictField(child=serializers.CharField())
    missing_variables = serializers.ListField(child=serializers.CharField())


class MetricWriteSerializer(StrictSerializer):
    name = serializers.SlugField(max_length=64)
    kind = serializers.ChoiceField(MetricKind.choices)
    higher_is_better = serializers.BooleanField(required=False, default=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    workspace_id = serializers.CharField(max_length=64, required=False)


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedbackMetric
        fields = ["name", "kind", "higher_is_better", "description"]


class FeedbackWriteSerializer(StrictSerializer):
    metric = serializers.SlugField(max_length=64)
    value = serializers.JSONField()  # checked against the metric's kind by the service
    rater_id = serializers.CharField(max_length=200, required=False)
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class FeedbackSerializer(serializers.ModelSerializer):
    metric = serializers.CharField(source="metric.name")
    generation_id = serializers.UUIDField()

    class Meta:
        model = Feedback
        fields = ["generation_id", "metric", "value", "rater_id", "comment", "updated_at"]


class PromoteSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, required=False)
    workspace_id = serializers.CharField(max_length=64, required=False)
