"""Rules that relate the fields of a structured request to each other.

The input serializers have already checked types, enums and ranges. ``request_check``
returns every error, warning and suggestion at once; the create flow refuses a request
with any error, ``POST generations/validate`` reports them all and creates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationFailed

from ..models import OperationType, Provider
from ..operations import PROMPT_REQUIRED, USUAL_PURPOSES, operation_for


@dataclass(frozen=True)
class Issue:
    code: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    suggestions: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, code: str, field_name: str, message: str) -> None:
        self.errors.append(Issue(code, field_name, message))

    def warn(self, code: str, field_name: str, message: str) -> None:
        self.warnings.append(Issue(code, field_name, message))

    def suggest(self, code: str, field_name: str, message: str) -> None:
        self.suggestions.append(Issue(code, field_name, message))

    def raise_if_invalid(self) -> None:
        if not self.errors:
            return
        fields: dict[str, list[dict[str, str]]] = {}
        for issue in self.errors:
            fields.setdefault(issue.field, []).append(
                {"code": issue.code, "message": issue.message}
            )
        first = self.errors[0]
        raise ValidationFailed(first.message, code=first.code, fields=fields)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.warnings],
            "suggestions": [i.as_dict() for i in self.suggestions],
        }


def _check_duration(report: ValidationReport, duration: Mapping[str, Any]) -> None:
    low, high, target = duration.get("min"), duration.get("max"), duration.get("target")
    if low is not None and high is not None and low > high:
        report.error(
            "duration_range_invalid",
            "config.duration",
            f"Duration min ({low:g}s) cannot be greater than max ({high:g}s).",
        )
    if target is not None and (
        (low is not None and target < low) or (high is not None and target > high)
    ):
        report.error(
            "duration_target_out_of_range",
            "config.duration.target",
            "Duration target must lie between min and max.",
        )
    if high is not None and high > 60:
        report.warn(
            "duration_expensive", "config.duration.max", "Duration max > 60s may be expensive."
        )
    if low is not None and high is not None and target is None:
        report.suggest(
            "duration_target_missing",
            "config.duration.target",
            "Set a target duration when min and max are set.",
        )


def _check_inputs(report: ValidationReport, operation: str, config: Mapping[str, Any]) -> None:
    image_urls = config.get("image_urls") or []
    if operation == OperationType.IMAGE_TO_VIDEO and not config.get("image_url"):
        report.error(
            "image_url_required", "config.image_url", "image_to_video requires 'image_url'."
        )
    elif operation == OperationType.IMAGE_TO_IMAGE and not (image_urls or config.get("image_url")):
        report.error(
            "image_url_required",
            "config.image_url",
            "image_edit requires 'image_url' or 'image_urls'.",
        )
    elif operation == OperationType.VIDEO_EXTEND and not config.get("video_url"):
        report.error("video_url_required", "config.video_url", "video_extend requires 'video_url'.")
    elif operation == OperationType.FUSION and len(image_urls) < 2:
        report.error(
            "image_urls_required", "config.image_urls", "fusion requires at least 2 'image_urls'."
        )
    elif operation == OperationType.VIDEO_TRANSITION:
        if len(image_urls) < 2:
            report.error(
                "image_urls_required",
                "config.image_urls",
                "transition requires an 'image_urls' list with at least 2 images.",
            )
        else:
            prompts = config.get("prompts") or []
            if len(prompts) != len(image_urls) - 1:
                report.error(
                    "transition_prompts_mismatch",
                    "config.prompts",
                    f"transition requires exactly {len(image_urls) - 1} prompt(s) for "
                    f"{len(image_urls)} images, got {len(prompts)}.",
                )


def _check_provider(
    report: ValidationReport, provider: Provider | None, provider_id: str | None, operation: str
) -> None:
    if not provider_id:
        report.error(
            "provider_required",
            "provider_id",
            "provider_id is required (the workspace has no default provider).",
        )
    elif provider is None:
        report.error("provider_not_found", "provider_id", f"Unknown provider {provider_id!r}.")
    elif not provider.enabled:
        report.error("provider_disabled", "provider_id", f"Provider {provider_id!r} is disabled.")
    elif not provider.supports(operation):
        report.error(
            "operation_not_supported",
            "provider_id",
            f"Provider {provider_id!r} does not support {operation}.",
        )


def _check_strategy(report: ValidationReport, data: Mapping[str, Any]) -> None:
    config = data["config"]
    strategy = config["strategy"]
    player = data.get("player_context") or {}
    if strategy == "per_playthrough" and not player.get("playthrough_id"):
        report.error(
            "playthrough_id_required",
            "player_context.playthrough_id",
            "Strategy 'per_playthrough' needs player_context.playthrough_id.",
        )
    if strategy == "per_player" and not player.get("player_id"):
        report.error(
            "player_id_required",
            "player_context.player_id",
            "Strategy 'per_player' needs player_context.player_id.",
        )
    if strategy == "always":
        report.warn(
            "strategy_always_expensive",
            "config.strategy",
            "Strategy 'always' regenerates on every request and is never cached.",
        )
    elif not config.get("seed_source"):
        report.suggest(
            "seed_source_missing",
            "config.seed_source",
            f"Set seed_source so strategy {strategy!r} is reproducible.",
        )
    if config.get("seed_source") == "timestamp" and strategy != "always":
        report.warn(
            "timestamp_seed_cached",
            "config.seed_source",
            "A timestamp seed with a cached strategy serves the first result to everyone.",
        )


def request_check(
    data: Mapping[str, Any],
    *,
    provider: Provider | None,
    provider_id: str | None,
    final_prompt: str | None,
    social_context: Mapping[str, Any] | None,
) -> ValidationReport:
    """Every rule of SPEC §4.3 that spans fields, as errors, warnings and suggestions."""
    report = ValidationReport()
    config = data["config"]
    generation_type = config["generation_type"]
    operation = operation_for(generation_type)

    _check_duration(report, config.get("duration") or {})
    constraints = config.get("constraints") or {}
    both = sorted(
        set(constraints.get("required_elements") or [])
        & set(constraints.get("avoid_elements") or [])
    )
    if both:
        report.error(
            "elements_conflict",
            "config.constraints",
            "Elements cannot be both required and avoided: " + ", ".join(both) + ".",
        )
    fallback = config.get("fallback") or {}
    if fallback.get("mode") == "default_content" and not fallback.get("default_content_id"):
        report.error(
            "default_content_id_required",
            "config.fallback.default_content_id",
            "Fallback mode 'default_content' requires default_content_id.",
        )
    if fallback.get("mode") == "retry" and not fallback.get("max_retries"):
        report.suggest(
            "max_retries_default",
            "config.fallback.max_retries",
            "Fallback mode 'retry' without max_retries uses the provider default.",
        )
    _check_inputs(report, operation, config)
    _check_provider(report, provider, provider_id, operation)
    _check_strategy(report, data)

    if final_prompt is not None and operation in PROMPT_REQUIRED and not final_prompt.strip():
        report.error(
            "prompt_required",
            "config.prompt",
            f"{operation} requires a non-empty prompt (inline, template or prompt version).",
        )
    if not config.get("enabled", True):
        report.warn("node_disabled", "config.enabled", "The node is disabled.")
    usual = USUAL_PURPOSES.get(generation_type)
    if usual and config["purpose"] not in usual:
        report.warn(
            "unusual_purpose",
            "config.purpose",
            f"Purpose {config['purpose']!r} is unusual for {generation_type!r}.",
        )
    style = config.get("style") or {}
    if style.get("transition_type") == "abrupt" and style.get("pacing") == "slow":
        report.warn("abrupt_slow", "config.style", "An abrupt transition with slow pacing.")
    if not (data.get("template_id") or data.get("prompt_version_id") or config.get("template_id")):
        report.suggest(
            "template_missing",
            "template_id",
            "Consider a template_id or prompt_version_id for consistent prompts.",
        )
    if social_context:
        if social_context.get("rating_clamped"):
            report.warn(
                "content_rating_clamped",
                "social_context.content_rating",
                f"Content rating {social_context['original_rating']!r} was clamped to "
                f"{social_context['content_rating']!r}.",
            )
        if social_context.get("content_rating") == "restricted":
            report.warn(
                "content_rating_restricted",
                "social_context.content_rating",
                "Content rating is 'restricted': explicit consent is required.",
            )
    elif operation in (OperationType.DIALOGUE, OperationType.NPC_RESPONSE):
        report.suggest(
            "social_context_missing",
            "social_context",
            "Consider adding social context for NPC dialogue.",
        )
    return report
