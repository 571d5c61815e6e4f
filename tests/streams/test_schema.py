"""The SSE endpoints are in the OpenAPI schema, and the event object's documented keys
are the keys the feed sends."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command

from generations.events import event_object
from generations.models import GenerationEvent
from streams.openapi import EVENT_OBJECT
from tests.builders import create_body


@pytest.mark.django_db
def test_the_stream_endpoints_are_documented_as_event_streams(tmp_path):
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=io.StringIO()
    )
    schema = yaml.safe_load(target.read_text())
    for path in ("/api/v1/generations/events", "/api/v1/generations/{generation_id}/events"):
        operation = schema["paths"][path]["get"]
        ok = operation["responses"]["200"]["content"]
        assert list(ok) == ["text/event-stream"]
        assert ok["text/event-stream"]["schema"]["$ref"].endswith("/GenerationEventObject")
        assert {"404", "401", "400"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= {"Last-Event-ID", "last_event_id"}
        assert operation["security"]
    assert "GenerationEventObject" in schema["components"]["schemas"]
    prefer = schema["paths"]["/api/v1/generations"]["post"]["parameters"]
    assert "Prefer" in {p["name"] for p in prefer}


@pytest.mark.django_db
def test_the_documented_event_object_is_the_one_sent(api, no_dispatch):
    generation_id = api.post("/api/v1/generations", create_body(), format="json").json()["id"]
    sent = event_object(GenerationEvent.objects.get(generation_id=generation_id))
    assert set(sent) == set(EVENT_OBJECT["properties"]) == set(EVENT_OBJECT["required"])
    assert sent["type"] in EVENT_OBJECT["properties"]["type"]["enum"]
