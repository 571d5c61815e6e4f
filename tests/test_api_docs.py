"""The interactive docs work offline and the schema documents errors and examples."""

from __future__ import annotations

import io
import re

import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client


def test_docs_page_loads_nothing_from_the_internet(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert references, page
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), reference
        path = reference.removeprefix("/static/")
        assert reference != path and finders.find(path), f"{reference} is not a static file"
    assert not re.search(r"https?://", page.split("<script>", 1)[-1])
    assert '"validatorUrl": null' in page  # no call to swagger.io's online validator


def _schema(tmp_path) -> dict:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), stdout=io.StringIO())
    return yaml.safe_load(target.read_text())


def test_generation_endpoints_document_the_error_envelope(db, tmp_path):
    schema = _schema(tmp_path)
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    create = schema["paths"]["/api/v1/generations"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "409", "422", "429"):
        assert create[status]["content"]["application/json"]["schema"] == envelope, status
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/generations") or re.search("/(telemetry|cache)/", path):
            continue  # the staff endpoints of the telemetry and caching apps
        if path.endswith("/events"):
            continue  # the streams: not throttled, no 403 (tests/streams/test_schema.py)
        for method, operation in operations.items():
            errors = {s for s in operation["responses"] if s.startswith("4")}
            assert {"401", "403", "429"} <= errors, (method, path)
    body = schema["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "fields"}


def test_create_has_request_and_response_examples(db, tmp_path):
    operation = _schema(tmp_path)["paths"]["/api/v1/generations"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["examples"]
    (transition,) = request.values()
    assert transition["value"]["config"]["generation_type"] == "transition"
    examples = {
        status: list(response["content"]["application/json"].get("examples", {}).values())
        for status, response in operation["responses"].items()
    }
    assert examples["201"][0]["value"]["status"] == "pending"
    assert examples["200"][0]["value"]["reused"] == "cache"
    assert examples["400"][0]["value"]["error"]["code"] == "duration_range_invalid"
