"""OpenAPI documentation of the generations API: request/response examples and the error
responses each endpoint declares. Documentation only; nothing here runs on a request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from core.schema import error_responses

# Error statuses per kind of endpoint (the envelope is documented once, as ErrorEnvelope).
CREATE_ERRORS = error_responses(400, 401, 402, 403, 404, 409, 422, 429)
LIST_ERRORS = error_responses(400, 401, 403, 429)
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
