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


EXAMPLED = {
    "/api/v1/generations/simple-image-to-video": {"201"},
    "/api/v1/generations/validate": {"200"},
    "/api/v1/generations/social-context/build": {"200"},
}


def _placeholders(value: object) -> list[str]:
    """drf-spectacular's generated placeholders (``"string"``, ``0``…) left in a value."""
    if isinstance(value, dict):
        return [p for item in value.values() for p in _placeholders(item)]
    if isinstance(value, list):
        return [p for item in value for p in _placeholders(item)]
    return [repr(value)] if value in ("string", "2019-08-24T14:15:22Z") else []


def test_swagger_examples_are_real_requests_that_get_the_documented_answers(
    tmp_path, api, no_dispatch
):
    schema = _schema(tmp_path)
    for path, statuses in EXAMPLED.items():
        operation = schema["paths"][path]["post"]
        requests = operation["requestBody"]["content"]["application/json"]["examples"]
        assert requests, path
        answers = [
            example["value"]
            for status in statuses
            for example in operation["responses"][status]["content"]["application/json"][
                "examples"
            ].values()
        ]
        for name, example in requests.items():
            assert not _placeholders(example["value"]), (path, name)
            response = api.post(path, example["value"], format="json")
            assert str(response.status_code) in statuses, (path, name, response.json())
            got = response.json()
            if path.endswith("simple-image-to-video"):
                documented = answers[0]
                for key in ("operation_type", "strategy", "priority", "reproducible_hash"):
                    assert got[key] == documented[key], (key, got[key])
            else:
                assert got in answers, (path, name, got)  # the documented answer, exactly


def test_every_operation_documents_the_errors_any_request_can_get(tmp_path):
    schema = _schema(tmp_path)
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "401", "403", "406", "429", "503"}
            if "requestBody" in operation:
                expected |= {"413", "415"}
            if "{" in path:
                expected.add("404")
            assert expected <= set(responses), (method, path, sorted(responses))
            for status in expected:
                content = responses[status]["content"]["application/json"]
                assert content["schema"] == envelope, (method, path, status)
