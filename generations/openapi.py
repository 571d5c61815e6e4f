"""OpenAPI documentation of the generations API: request/response examples and the error
responses each endpoint declares. Documentation only; nothing here runs on a request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from core.schema import error_responses

# Error statuses per kind of endpoint (the envelope is documented once, as ErrorEnvelope).
CREATE_ERRORS = error_responses(400, 401, 402, 403, 404, 409, 422, 429)
LIST_ERRORS = error_responses(400, 401, 403, 404, 429)
READ_ERRORS = error_responses(401, 403, 404, 429)
ACTION_ERRORS = error_responses(401, 403, 404, 409, 429)
RETRY_ERRORS = error_responses(400, 401, 402, 403, 404, 409, 429)
BODY_ERRORS = error_responses(400, 401, 403, 404, 429)

# ``Prefer: wait=N`` (RFC 7240), served by the ASGI application (streams.prefer).
PREFER_WAIT = [
    OpenApiParameter(
        "Prefer",
        str,
        OpenApiParameter.HEADER,
        description=(
            "`wait=N` (seconds, at most 60; more is lowered to 60): answer once the "
            "generation is terminal or after N seconds, whichever comes first. Honoured "
            "by the ASGI server only; the WSGI server ignores it."
        ),
    ),
    OpenApiParameter(
        "Preference-Applied",
        str,
        OpenApiParameter.HEADER,
        response=[200, 201],
        description="`wait=N` when the response waited (ASGI only).",
    ),
]

_CACHE_KEY = "generation:video_transition|gap_fill|scene-123|scene-456|per_playthrough|pt:pt-9|v1"
_HASH = "51d0055422ce60b3c9df512a4c4b01edece9d8c1ef771da5b99e2e8858ba7864"

TRANSITION_REQUEST = OpenApiExample(
    "Scene transition",
    summary="A transition between two scenes, cached per playthrough",
    request_only=True,
    value={
        "provider_id": "sandbox",
        "config": {
            "generation_type": "transition",
            "purpose": "gap_fill",
            "strategy": "per_playthrough",
            "duration": {"min": 5, "max": 15, "target": 10},
            "fallback": {"mode": "placeholder"},
            "image_urls": ["https://cdn.example.com/1.png", "https://cdn.example.com/2.png"],
            "prompts": ["walk into the rain"],
        },
        "from_scene": {"id": "scene-123", "mood": "tense"},
        "to_scene": {"id": "scene-456", "mood": "calm"},
        "player_context": {"playthrough_id": "pt-9"},
    },
)


def _generation(**overrides: Any) -> dict[str, Any]:
    """A generation as the API renders it (an excerpt: config and canonical params cut)."""
    generation: dict[str, Any] = {
        "id": "37703fa7-ce61-4393-a044-bf1ab51fad98",
        "workspace_id": 1,
        "status": "pending",
        "operation_type": "video_transition",
        "provider_id": "sandbox",
        "purpose": "gap_fill",
        "strategy": "per_playthrough",
        "name": "transition generation",
        "cache_key": _CACHE_KEY,
        "reproducible_hash": _HASH,
        "reused": None,
        "result": None,
        "error": None,
        "priority": 5,
        "retry_count": 0,
        "cost_usd": "0.000000",
        "estimated_cost_usd": "0.000412",
        "latency_ms": None,
        "created_at": "2026-11-24T00:08:15.350071Z",
        "started_at": None,
        "completed_at": None,
    }
    generation.update(overrides)
    return generation


CREATED_RESPONSE = OpenApiExample(
    "Created",
    summary="201: a new pending generation (excerpt)",
    response_only=True,
    status_codes=["201"],
    value=_generation(),
)

REUSED_RESPONSE = OpenApiExample(
    "Reused from the cache slot",
    summary="200: the slot's generation answers a repeat (excerpt)",
    response_only=True,
    status_codes=["200"],
    value=_generation(
        status="completed",
        reused="cache",
        result={
            "media_url": "data:image/svg+xml;base64,…",
            "media_type": "image/svg+xml",
            "metadata": {"provider": "sandbox", "kind": "video", "duration_s": 10},
        },
        cost_usd="0.500000",
        latency_ms=412,
        started_at="2026-11-24T00:08:15.402311Z",
        completed_at="2026-11-24T00:08:15.814552Z",
    ),
)

_M = "Duration min (30s) cannot be greater than max (10s)."
VALIDATION_ERROR = OpenApiExample(
    "Invalid duration range",
    summary="400: a broken rule, in the error envelope",
    response_only=True,
    status_codes=["400"],
    value={
        "error": {
            "code": "duration_range_invalid",
            "message": _M,
            "fields": {"config.duration": [{"code": "duration_range_invalid", "message": _M}]},
        }
    },
)

CREATE_EXAMPLES = [TRANSITION_REQUEST, CREATED_RESPONSE, REUSED_RESPONSE, VALIDATION_ERROR]

# --- validate -----------------------------------------------------------------------------

VALIDATE_ERRORS = error_responses(400, 401, 403, 404, 429)
VALIDATE_DOC = """The same body as a create; nothing is created.

One shape for every answer about the request: `200 {"valid", "errors", "warnings",
"suggestions"}`, each issue `{code, field, message}` with the code and dotted path a create's
error envelope would give. Schema problems (a wrong type, a missing or unknown field, a
flat legacy payload) and rule problems (duration range, operation inputs, strategy ids,
provider) are both `errors`. A valid request also gets its `cache_key`, `reproducible_hash`,
`final_prompt` and `estimated_cost_usd`.

Only what keeps the request from being read is an error envelope: a body that is not a
JSON object (`400`), one over the size cap (`413`), and a workspace you cannot use
(`404 workspace_not_found`, `403 no_workspace`).
"""

_T2I_CONFIG: dict[str, Any] = {
    "generation_type": "text_to_image",
    "purpose": "adaptive",
    "strategy": "once",
    "seed_source": "fixed",
    "prompt": "a lighthouse at dusk, oil painting",
}
_TEXT_TO_IMAGE: dict[str, Any] = {"provider_id": "sandbox", "config": _T2I_CONFIG}

_HASH_T2I = "1c2492bd67436f21f589a7e11a1508d4cda14be8066d66c9bad3d0edf74b1b08"
_TEMPLATE_MISSING = {
    "code": "template_missing",
    "field": "template_id",
    "message": "Consider a template_id or prompt_version_id for consistent prompts.",
}
VALIDATE_EXAMPLES = [
    OpenApiExample(
        "Text to image",
        summary="A valid text-to-image node",
        request_only=True,
        value=_TEXT_TO_IMAGE,
    ),
    OpenApiExample(
        "A broken rule",
        summary="The duration range is upside down",
        request_only=True,
        value={
            **_TEXT_TO_IMAGE,
            "config": {**_T2I_CONFIG, "duration": {"min": 30, "max": 10}},
        },
    ),
    OpenApiExample(
        "Schema errors",
        summary="An unknown strategy and a priority that is not a number",
        request_only=True,
        value={
            **_TEXT_TO_IMAGE,
            "priority": "high",
            "config": {**_T2I_CONFIG, "strategy": "sometimes"},
        },
    ),
    OpenApiExample(
        "Valid",
        summary="200: valid, with what a create would get",
        response_only=True,
        status_codes=["200"],
        value={
            "valid": True,
            "errors": [],
            "warnings": [],
            "suggestions": [_TEMPLATE_MISSING],
            "cache_key": f"generation:text_to_image|adaptive|hash:{_HASH_T2I}|none|once|v1",
            "reproducible_hash": _HASH_T2I,
            "final_prompt": "a lighthouse at dusk, oil painting",
            "estimated_cost_usd": "0.040002",
        },
    ),
    OpenApiExample(
        "Rule error",
        summary="200: a broken rule is an error",
        response_only=True,
        status_codes=["200"],
        value={
            "valid": False,
            "errors": [
                {"code": "duration_range_invalid", "field": "config.duration", "message": _M}
            ],
            "warnings": [],
            "suggestions": [
                {
                    "code": "duration_target_missing",
                    "field": "config.duration.target",
                    "message": "Set a target duration when min and max are set.",
                },
                _TEMPLATE_MISSING,
            ],
        },
    ),
    OpenApiExample(
        "Schema errors",
        summary="200: schema errors come back the same way",
        response_only=True,
        status_codes=["200"],
        value={
            "valid": False,
            "errors": [
                {
                    "code": "invalid_choice",
                    "field": "config.strategy",
                    "message": '"sometimes" is not a valid choice.',
                },
                {"code": "invalid", "field": "priority", "message": "A valid integer is required."},
            ],
            "warnings": [],
            "suggestions": [],
        },
    ),
]

# --- simple-image-to-video and social-context ---------------------------------------------

SIMPLE_EXAMPLES = [
    OpenApiExample(
        "Image to video",
        summary="A prompt and one image, for thin clients",
        request_only=True,
        value={
            "provider_id": "sandbox",
            "prompt": "the lighthouse beam sweeps across the waves",
            "image_url": "https://cdn.example.com/lighthouse.png",
            "name": "lighthouse intro",
        },
    ),
    OpenApiExample(
        "Created",
        summary="201: an image_to_video generation (excerpt), strategy always, priority 7",
        response_only=True,
        status_codes=["201"],
        value=_generation(
            id="2005a91f-a3c3-472e-9a44-4a034aedbfe2",
            operation_type="image_to_video",
            purpose="adaptive",
            strategy="always",
            name="lighthouse intro",
            cache_key="",
            reproducible_hash="432e7a44da0068fd0b3f107e03953259352b718cf5c0b2a609c58fe574085137",
            priority=7,
            estimated_cost_usd="0.250002",
        ),
    ),
]

SOCIAL_EXAMPLES = [
    OpenApiExample(
        "Close friends",
        summary="Relationship values within the workspace's maximum rating",
        request_only=True,
        value={
            "relationship_values": {"affinity": 72, "trust": 60, "chemistry": 55, "tension": 10},
            "user_max_rating": "romantic",
        },
    ),
    OpenApiExample(
        "Clamped by the player's setting",
        summary="Lovers, but the player allows only sfw",
        request_only=True,
        value={
            "relationship_values": {"affinity": 90, "trust": 85, "chemistry": 90, "tension": 5},
            "world_max_rating": "mature_implied",
            "user_max_rating": "sfw",
        },
    ),
    OpenApiExample(
        "Mapped",
        summary="200: tier, intimacy and rating",
        response_only=True,
        status_codes=["200"],
        value={
            "relationship_tier": "close_friend",
            "intimacy_level": "deep_flirt",
            "intimacy_band": "deep",
            "base_content_rating": "romantic",
            "content_rating": "romantic",
            "max_content_rating": "romantic",
            "clamped": False,
        },
    ),
    OpenApiExample(
        "Clamped",
        summary="200: the rating clamped to the lowest maximum",
        response_only=True,
        status_codes=["200"],
        value={
            "relationship_tier": "lover",
            "intimacy_level": "very_intimate",
            "intimacy_band": "intense",
            "base_content_rating": "mature_implied",
            "content_rating": "sfw",
            "max_content_rating": "sfw",
            "clamped": True,
        },
    ),
]
