"""OpenAPI documentation of the event streams (SSE). The views are async Django views,
which drf-spectacular does not see, so this postprocessing hook (``SPECTACULAR_SETTINGS``)
adds their paths; ``GenerationEventObject`` documents the event object itself (a test
compares its keys with ``generations.events.event_object``)."""

from __future__ import annotations

from typing import Any

from generations.events import EVENT_TYPES

from .access import MAX_EVENT_ID

EVENT_OBJECT: dict[str, Any] = {
    "type": "object",
    "description": "One status change of a generation (a row of its audit log).",
    "required": [
        "event_id",
        "type",
        "generation_id",
        "workspace_id",
        "from_status",
        "to_status",
        "reason",
        "at",
        "generation",
    ],
    "properties": {
        "event_id": {"type": "integer", "description": "Increases; resume after it."},
        "type": {"type": "string", "enum": sorted(EVENT_TYPES)},
        "generation_id": {"type": "string", "format": "uuid"},
        "workspace_id": {"type": "integer"},
        "from_status": {"type": "string", "nullable": True},
        "to_status": {"type": "string"},
        "reason": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "generation": {
            "allOf": [{"$ref": "#/components/schemas/Generation"}],
            "description": "The generation as GET generations/{id} renders it when read.",
        },
    },
}
_STREAM = (
    "`text/event-stream`: each event is `id: <event_id>` and `data: <event object as "
    "JSON>` (schema `GenerationEventObject`); `: heartbeat` comments every 15 s. Served "
    "by the ASGI application (docs/events.md)."
)
_RESUME = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
        "description": "Resume: only events after this id.",
    },
    {
        "name": "last_event_id",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
        "description": "The same, for clients that cannot set headers.",
    },
]


def _errors(*statuses: int) -> dict[str, Any]:
    from core.schema import ERROR_DESCRIPTIONS

    return {
        str(status): {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
            },
        }
        for status in statuses
    }


def _ok(description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": f"{description} {_STREAM}",
            "content": {
                "text/event-stream": {
                    "schema": {"$ref": "#/components/schemas/GenerationEventObject"}
                }
            },
        }
    }


def add_stream_paths(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: the two SSE endpoints and the event object schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["GenerationEventObject"] = (
        EVENT_OBJECT
    )
    detail = result["paths"].get("/api/v1/generations/{generation_id}", {}).get("get", {})
    security = detail.get("security", [])
    result["paths"]["/api/v1/generations/{generation_id}/events"] = {
        "get": {
            "operationId": "generations_events_retrieve",
            "summary": "Stream one generation's events (SSE)",
            "description": "Its history first, then live; the stream ends after the "
            "terminal event (completed, failed or cancelled).",
            "tags": ["generations"],
            "parameters": [
                {
                    "name": "generation_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                },
                *_RESUME,
            ],
            "security": security,
            "responses": {**_ok("The generation's events."), **_errors(400, 401, 404)},
        }
    }
    result["paths"]["/api/v1/generations/events"] = {
        "get": {
            "operationId": "generations_events_list",
            "summary": "Stream the events of your workspaces' generations (SSE)",
            "description": "Live from now on (or after Last-Event-ID); stays open.",
            "tags": ["generations"],
            "parameters": [
                {
                    "name": "workspace",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Only this workspace (id or slug).",
                },
                {
                    "name": "type",
                    "in": "query",
                    "schema": {
                        "type": "array",
                        "items": {"type": "string", "enum": sorted(EVENT_TYPES)},
                    },
                    "style": "form",
                    "explode": True,
                    "description": "Only these event types (repeat, or comma-separate).",
                },
                *_RESUME,
            ],
            "security": security,
            "responses": {**_ok("The workspaces' events."), **_errors(400, 401, 404)},
        }
    }
    return result
