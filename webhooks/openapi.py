"""OpenAPI documentation of the webhooks API (documentation only)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from core.schema import error_responses

LIST_ERRORS = error_responses(400, 401, 403, 429)
CREATE_ERRORS = error_responses(400, 401, 403, 404, 429)
READ_ERRORS = error_responses(401, 403, 404, 429)
UPDATE_ERRORS = error_responses(400, 401, 403, 404, 429)
ACTION_ERRORS = error_responses(401, 403, 404, 409, 429)

_ENDPOINT = {
    "id": 7,
    "workspace_id": 1,
    "url": "https://hooks.example.com/genpipe",
    "events": ["generation.completed", "generation.failed"],
    "enabled": True,
    "description": "Build server",
    "failure_streak": 0,
    "disabled_reason": "",
    "disabled_at": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z",
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

CREATE_EXAMPLES = [
    OpenApiExample(
        "Completed and failed generations",
        request_only=True,
        value={
            "url": "https://hooks.example.com/genpipe",
            "events": ["generation.completed", "generation.failed"],
            "description": "Build server",
        },
    ),
    OpenApiExample(
        "Registered (the secret is shown this once)",
        response_only=True,
        status_codes=["201"],
        value={**_ENDPOINT, "secret": _SECRET},
    ),
    OpenApiExample(
        "Private target refused",
        response_only=True,
        status_codes=["400"],
        value={
            "error": {
                "code": "webhook_url_not_allowed",
                "message": "The URL resolves to a private, loopback or link-local address; "
                "webhooks only call public addresses.",
                "fields": {"url": [{"code": "webhook_url_not_allowed", "message": "…"}]},
            }
        },
    ),
]
ENDPOINT_EXAMPLES = [OpenApiExample("Endpoint", response_only=True, value=_ENDPOINT)]
UPDATE_EXAMPLES = [
    OpenApiExample("Re-enable", request_only=True, value={"enabled": True}),
    OpenApiExample("Endpoint", response_only=True, value=_ENDPOINT),
]
ROTATE_EXAMPLES = [
    OpenApiExample(
        "Rotated",
        response_only=True,
        value={
            **_ENDPOINT,
            "previous_secret_expires_at": "2026-12-02T10:00:00Z",
            "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        },
    )
]
_DELIVERY = {
    "id": 42,
    "webhook_id": "msg_5b0c8a2e3f4d4b6f9a1e2d3c4b5a6978",
    "event_id": 1093,
    "budget_alert_id": None,
    "event_type": "generation.completed",
    "state": "succeeded",
    "attempt_count": 2,
    "next_attempt_at": None,
    "last_status_code": 200,
    "last_error": "",
    "created_at": "2026-12-01T10:05:00Z",
    "updated_at": "2026-12-01T10:05:05Z",
    "completed_at": "2026-12-01T10:05:05Z",
    "payload": {
        "type": "generation.completed",
        "timestamp": "2026-12-01T10:05:00.120000Z",
        "data": {
            "event_id": 1093,
            "type": "generation.completed",
            "generation_id": "37703fa7-ce61-4393-a044-bf1ab51fad98",
            "workspace_id": 1,
            "from_status": "processing",
            "to_status": "completed",
            "reason": "",
            "at": "2026-12-01T10:05:00.120000Z",
            "generation": {"id": "37703fa7-ce61-4393-a044-bf1ab51fad98", "status": "completed"},
        },
    },
    "attempts": [
        {
            "number": 1,
            "attempted_at": "2026-12-01T10:05:00.200000Z",
            "outcome": "failed",
            "status_code": 500,
            "latency_ms": 12,
            "error": "http_status: HTTP 500",
            "next_retry_at": "2026-12-01T10:05:05.300000Z",
        },
        {
            "number": 2,
            "attempted_at": "2026-12-01T10:05:05.310000Z",
            "outcome": "succeeded",
            "status_code": 200,
            "latency_ms": 9,
            "error": "",
            "next_retry_at": None,
        },
    ],
}
DELIVERY_LIST_EXAMPLES = [
    OpenApiExample(
        "Deliveries with every attempt",
        response_only=True,
        value={"next": None, "previous": None, "results": [_DELIVERY]},
    )
]
REDELIVER_EXAMPLES = [
    OpenApiExample(
        "Queued again",
        response_only=True,
        status_codes=["202"],
        value={**_DELIVERY, "state": "pending", "next_attempt_at": "2026-12-01T11:00:00Z"},
    )
]
