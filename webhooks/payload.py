"""The event object: one ``GenerationEvent`` row as every push channel sends it.

Webhooks wrap it in the Standard Webhooks body ``{"type", "timestamp", "data"}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import serializers

from generations.models import Generation, GenerationEvent
from generations.serializers import GenerationSerializer

_AT = serializers.DateTimeField()


def event_object(event: GenerationEvent, generation: Generation | None = None) -> dict[str, Any]:
    """The event as a plain JSON-ready dict; ``generation`` as ``GET generations/{id}``
    renders it now (pass it in when already loaded, else it is read)."""
    generation = generation if generation is not None else event.generation
    return {
        "event_id": event.id,
        "type": f"generation.{event.to_status}",
        "generation_id": str(event.generation_id),
        "workspace_id": generation.workspace_id,
        "from_status": event.from_status or None,
        "to_status": event.to_status,
        "reason": event.reason,
        "at": _AT.to_representation(event.at),
        "generation": json.loads(
            json.dumps(GenerationSerializer(generation).data, cls=DjangoJSONEncoder)
        ),
    }


def webhook_body(event: dict[str, Any]) -> str:
    """The Standard Webhooks body of an event object (a generation event above, a budget
    alert from ``budgets.alerts.budget_alert_event``), minified: these exact bytes are
    signed and sent."""
    envelope = {"type": event["type"], "timestamp": event["at"], "data": event}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
