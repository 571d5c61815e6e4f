"""Request and response shapes of the generations API.

Input serializers check types, enums and ranges only; the rules that relate fields to each
other live in ``services.validation``. Serializers never write.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils.serializer_helpers import BindingDict

from .models import ContentRating, Generation, Purpose, Strategy
from .operations import GENERATION_TYPES
from .rendering import generation_json

MAX_URL = 2048
MAX_PROMPT = 4096
MAX_LIST = 16

# The editor's camelCase spelling of the same fields.
CAMEL_ALIASES = {
    "generationType": "generation_type",
    "seedSource": "seed_source",
    "templateId": "template_id",
    "templateLabel": "template_label",
    "imageUrl": "image_url",
    "imageUrls": "image_urls",
    "videoUrl": "video_url",
    "moodFrom": "mood_from",
    "moodTo": "mood_to",
    "transitionType": "transition_type",
    "requiredElements": "required_elements",
    "avoidElements": "avoid_elements",
    "avoidedElements": "avoid_elements",
    "contentRules": "content_rules",
    "defaultContentId": "default_content_id",
    "maxRetries": "max_retries",
    "timeoutMs": "timeout_ms",
    "emotionalState": "emotional_state",
    "playthroughId": "playthrough_id",
    "playerId": "player_id",
    "intimacyLevelId": "intimacy_level_id",
    "relationshipTierId": "relationship_tier_id",
    "intimacyBand": "intimacy_band",
    "contentRating": "content_rating",
    "worldMaxRating": "world_max_rating",
    "userMaxRating": "user_max_rating",
    "npcIds": "npc_ids",
    "relationshipValues": "relationship_values",
    "socialContext": "social_context",
    "fromScene": "from_scene",
    "toScene": "to_scene",
    "playerContext": "player_context",
    "promptVersionId": "prompt_version_id",
    "templateVariables": "template_variables",
    "workspaceId": "workspace_id",
    "scheduledAt": "scheduled_at",
    "parentGenerationId": "parent_generation_id",
    "forceNew": "force_new",
    "providerId": "provider_id",
}
# Free-form maps whose keys belong to the game and are never renamed.
_OPAQUE = {"choices", "flags", "stats", "template_variables"}


def snake_case_keys(value: Any) -> Any:
    """Rename known camelCase keys to snake_case, leaving game-owned maps untouched."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = CAMEL_ALIASES.get(key, key) if isinstance(key, str) else key
            out[name] = item if name in _OPAQUE else snake_case_keys(item)
        return out
    if isinstance(value, list):
        return [snake_case_keys(item) for item in value]
    return value


class HttpUrlField(serializers.URLField):
    """An absolute http(s) URL of bounded length."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_URL)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not re.match(r"^https?://", value, flags=re.IGNORECASE):
            raise serializers.ValidationError("Only http(s) URLs are accepted.", code="invalid_url")
        return value


# The JSON object a request serializer is validating, while it does (nested ones stack).
_validating: ContextVar[dict[str, Any] | None] = ContextVar("_validating", default=None)


def _skipped_when_absent(field: serializers.Field) -> bool:  # type: ignore[type-arg]
    """Whether DRF answers an absent key of a JSON object with ``SkipField`` for this
    field, whatever else is sent: optional, without a default, and reading its value and
    empty values as DRF's own fields do. Worked out once per field object."""
    known: bool | None = getattr(field, "_skipped_when_absent", None)
    if known is None:
        known = (
            not field.required
            and field.default is empty
            and field.get_value({}) is empty
            and type(field).validate_empty_values is serializers.Field.validate_empty_values
        )
        field._skipped_when_absent = known  # type: ignore[attr-defined]
    return known


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not know instead of silently dropping them.

    Of a JSON object it validates only the fields that can answer: the keys sent and the
    fields that answer absence (required, defaulted). DRF would run every other optional
    field only for it to skip itself; a create request sends a few of its 49.
    """

    allow_extra: bool = False

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not self.allow_extra:
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                        for name in unknown
                    }
                )
        token = _validating.set(data if type(data) is dict else None)
        try:
            return super().to_internal_value(data)
        finally:
            _validating.reset(token)

    @property
    def _writable_fields(self) -> list[serializers.Field]:  # type: ignore[type-arg]
        data = _validating.get()
        return [
            field
            for field in self.fields.values()
            if not field.read_only
            and (data is None or field.field_name in data or not _skipped_when_absent(field))
        ]


class SharedFieldsSerializer(StrictSerializer):
    """A request serializer whose field tree is built once per class, not per request.

    DRF deep-copies every declared field (nested serializers included) for each instance;
    for the create request that is most of the validation time. Fields hold no
    per-request state (values and errors live on the instance being validated), so the
    bound tree of a prototype instance is shared by every instance of the class. Only for
    serializers that use no ``context`` and no ``partial`` (the fields see the
    prototype's).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._shared_fields = None

    _shared_fields: BindingDict | None = None

    @property  # type: ignore[override]
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls._shared_fields
        if shared is None:
            prototype = cls.__new__(cls)
            serializers.Serializer.__init__(prototype)
            shared = BindingDict(prototype)
            for name, field in prototype.get_fields().items():
                shared[name] = field
            cls._shared_fields = shared
        return shared


class BoundedDictField(serializers.DictField):
    """A free-form JSON object with a cap on keys and scalar-or-shallow values."""

    def __init__(self, max_keys: int = 64, **kwargs: Any) -> None:
        self.max_keys = max_keys
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if len(value) > self.max_keys:
            raise serializers.ValidationError(
                f"At most {self.max_keys} keys.", code="too_many_keys"
            )
        if any(len(str(k)) > 100 for k in value):
            raise serializers.ValidationError("Keys are at most 100 characters.", code="max_length")
        return value


class StyleSerializer(StrictSerializer):
    allow_extra = True  # per-provider blocks: {"style": {"<provider_id>": {...}}}

    mood_from = serializers.CharField(max_length=100, required=False, allow_blank=True)
    mood_to = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pacing = serializers.ChoiceField(["slow", "medium", "fast"], required=False)
    transition_type = serializers.ChoiceField(["gradual", "abrupt"], required=False)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        extras = {k: v for k, v in data.items() if k not in self.fields}
        if len(extras) > 8:
            raise serializers.ValidationError("At most 8 provider blocks.", code="too_many_keys")
        for name, block in extras.items():
            if not isinstance(block, dict) or len(block) > 32:
                raise serializers.ValidationError(
                    {name: ["A provider block is an object of at most 32 keys."]},
                    code="invalid_provider_block",
                )
        value.update(extras)
        return value


class DurationSerializer(StrictSerializer):
    min = serializers.FloatField(min_value=0, max_value=3600, required=False, allow_null=True)
    max = serializers.FloatField(min_value=0, max_value=3600, required=False, allow_null=True)
    target = serializers.FloatField(min_value=0, max_value=3600, required=False, allow_null=True)


def _element_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=50, required=False
    )


class ConstraintsSerializer(StrictSerializer):
    rating = serializers.ChoiceField(["G", "PG", "PG-13", "R"], required=False)
    required_elements = _element_list()
    avoid_elements = _element_list()
    content_rules = _element_list()


class FallbackSerializer(StrictSerializer):
    mode = serializers.ChoiceField(["default_content", "skip", "retry", "placeholder"])
    default_content_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    max_retries = serializers.IntegerField(min_value=1, max_value=10, required=False)
    timeout_ms = serializers.IntegerField(min_value=1000, max_value=600_000, required=False)


class RelationshipValuesSerializer(StrictSerializer):
    affinity = serializers.FloatField(min_value=0, max_value=100, required=False)
    trust = serializers.FloatField(min_value=0, max_value=100, required=False)
    chemistry = serializers.FloatField(min_value=0, max_value=100, required=False)
    tension = serializers.FloatField(min_value=0, max_value=100, required=False)


class SocialContextSerializer(StrictSerializer):
    intimacy_level_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    relationship_tier_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    intimacy_band = serializers.ChoiceField(["none", "light", "deep", "intense"], required=False)
    content_rating = serializers.ChoiceField(ContentRating.choices, required=False)
    world_max_rating = serializers.ChoiceField(ContentRating.choices, required=False)
    user_max_rating = serializers.ChoiceField(ContentRating.choices, required=False)
    npc_ids = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=32, required=False
    )
    relationship_values = RelationshipValuesSerializer(required=False)


class NodeConfigSerializer(StrictSerializer):
    generation_type = serializers.ChoiceField(sorted(GENERATION_TYPES))
    purpose = serializers.ChoiceField(Purpose.choices)
    style = StyleSerializer(required=False)  # type: ignore[assignment]
    duration = DurationSerializer(required=False)
    constraints = ConstraintsSerializer(required=False)
    strategy = serializers.ChoiceField(Strategy.choices)
    seed_source = serializers.ChoiceField(
        ["playthrough", "player", "timestamp", "fixed"], required=False
    )
    fallback = FallbackSerializer(required=False)
    template_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, default=True)
    version = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    prompt = serializers.CharField(
        max_length=MAX_PROMPT, required=False, allow_blank=True, trim_whitespace=False
    )
    image_url = HttpUrlField(required=False)
    image_urls = serializers.ListField(child=HttpUrlField(), max_length=MAX_LIST, required=False)
    video_url = HttpUrlField(required=False)
    prompts = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PROMPT, trim_whitespace=False),
        max_length=MAX_LIST,
        required=False,
    )
    social_context = SocialContextSerializer(required=False)


class SceneSerializer(StrictSerializer):
    id = serializers.CharField(max_length=200)
    mood = serializers.CharField(max_length=100, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    emotional_state = serializers.CharField(max_length=100, required=False, allow_blank=True)


class PlayerContextSerializer(StrictSerializer):
    playthrough_id = serializers.CharField(max_length=200, required=False)
    player_id = serializers.CharField(max_length=200, required=False)
    choices = BoundedDictField(required=False)
    flags = BoundedDictField(child=serializers.BooleanField(), required=False)
    stats = BoundedDictField(child=serializers.FloatField(), required=False)


class GenerationCreateSerializer(SharedFieldsSerializer):
    config = NodeConfigSerializer()
    provider_id = serializers.CharField(max_length=50, required=False)
    from_scene = SceneSerializer(required=False)
    to_scene = SceneSerializer(required=False)
    player_context = PlayerContextSerializer(required=False)
    social_context = SocialContextSerializer(required=False)
    prompt_version_id = serializers.UUIDField(required=False)
    template_id = serializers.CharField(max_length=100, required=False)
    template_label = serializers.CharField(max_length=64, required=False)
    template_variables = BoundedDictField(
        child=serializers.JSONField(), max_keys=50, required=False
    )
    workspace_id = serializers.CharField(max_length=64, required=False)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=10, required=False, default=5)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    parent_generation_id = serializers.UUIDField(required=False)
    force_new = serializers.BooleanField(required=False, default=False)

    def validate_template_variables(self, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            if not isinstance(item, str | int | float | bool) or len(str(item)) > 2000:
                raise serializers.ValidationError(
                    f"Variable {name!r} must be a string, number or boolean of at most "
                    "2000 characters.",
                    code="invalid_variable",
                )
        return value


class SimpleImageToVideoSerializer(StrictSerializer):
    provider_id = serializers.CharField(max_length=50, required=False)
    prompt = serializers.CharField(min_length=1, max_length=MAX_PROMPT)
    image_url = HttpUrlField(min_length=1)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=10, required=False, default=7)
    workspace_id = serializers.CharField(max_length=64, required=False)


class SocialBuildSerializer(StrictSerializer):
    relationship_values = RelationshipValuesSerializer()
    world_max_rating = serializers.ChoiceField(ContentRating.choices, required=False)
    user_max_rating = serializers.ChoiceField(ContentRating.choices, required=False)
    workspace_id = serializers.CharField(max_length=64, required=False)


class SocialBuildResultSerializer(serializers.Serializer):
    relationship_tier = serializers.CharField()
    intimacy_level = serializers.CharField(allow_null=True)
    intimacy_band = serializers.CharField()
    base_content_rating = serializers.CharField()
    content_rating = serializers.CharField()
    max_content_rating = serializers.CharField()
    clamped = serializers.BooleanField()


class ValidationIssueSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable (as in the error envelope).")
    field = serializers.CharField(help_text="Dotted path in the request (`body` for all of it).")
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    """``validate``'s answer: schema and rule errors alike are ``errors``."""

    valid = serializers.BooleanField(help_text="Whether a create would accept the request.")
    errors = ValidationIssueSerializer(many=True)  # type: ignore[assignment]
    warnings = ValidationIssueSerializer(many=True)
    suggestions = ValidationIssueSerializer(many=True)
    cache_key = serializers.CharField(
        required=False, allow_null=True, help_text="Only when valid; null for `always`."
    )
    reproducible_hash = serializers.CharField(required=False, help_text="Only when valid.")
    final_prompt = serializers.CharField(
        required=False, allow_blank=True, help_text="Only when valid."
    )
    estimated_cost_usd = serializers.DecimalField(
        max_digits=14,
        decimal_places=6,
        coerce_to_string=True,
        required=False,
        allow_null=True,
        help_text="Only when valid; null without a provider price table.",
    )


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GenerationSerializer(serializers.ModelSerializer):
    """The generation as clients see it (read-only)."""

    workspace_id = serializers.IntegerField(read_only=True)
    provider_id = serializers.CharField(read_only=True)
    parent_generation_id = serializers.UUIDField(
        source="parent_id", read_only=True, allow_null=True
    )
    prompt_version_id = serializers.UUIDField(read_only=True, allow_null=True)
    reused = serializers.ChoiceField(
        choices=["cache", "dedup", "idempotency"],
        read_only=True,
        allow_null=True,
        help_text="Why an existing generation answered: null when this request created it.",
    )
    error = ErrorSerializer(read_only=True, allow_null=True)
    attempts = serializers.IntegerField(source="attempt_count", read_only=True)
    failover_from = serializers.CharField(read_only=True, allow_null=True)
    fallback = serializers.JSONField(read_only=True, allow_null=True)
    cost_usd = serializers.DecimalField(max_digits=14, decimal_places=6, coerce_to_string=True)
    estimated_cost_usd = serializers.DecimalField(
        max_digits=14, decimal_places=6, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = Generation
        fields = [
            "id",
            "workspace_id",
            "status",
            "operation_type",
            "provider_id",
            "purpose",
            "strategy",
            "name",
            "description",
            "cache_key",
            "reproducible_hash",
            "reused",
            "final_prompt",
            "prompt_version_id",
            "template_variables",
            "canonical_params",
            "config",
            "social_context",
            "result",
            "error",
            "priority",
            "scheduled_at",
            "retry_count",
            "parent_generation_id",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "estimated_cost_usd",
            "latency_ms",
            "attempts",
            "failover_from",
            "fallback",
            "created_at",
            "started_at",
            "completed_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Generation) -> dict[str, Any]:
        """The one rendering of a generation (``rendering.generation_json``): the fields
        above describe it for OpenAPI; ``context["reused"]`` says why it was reused."""
        return generation_json(instance, reused=self.context.get("reused"))
