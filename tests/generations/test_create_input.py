"""A repeated create body is validated once; its errors are never remembered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generations import apis, create_input
from generations.serializers import GenerationCreateSerializer
from tests.builders import create_body

URL = "/api/v1/generations"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the create body's validations (the compiled check each one starts with, DRF's
    serializer when that one defers); starts with nothing remembered."""
    create_input.create_input_forget()
    counted: list[int] = []

    def fast_validated(serializer_class: Any, data: Any) -> Any:
        assert serializer_class is GenerationCreateSerializer
        counted.append(1)
        return real(serializer_class, data)

    real = apis.fast_validated
    monkeypatch.setattr(apis, "fast_validated", fast_validated)
    yield counted
    create_input.create_input_forget()


def _post(api: Any, body: Any, content_type: str = "application/json") -> Any:
    return api.generic("POST", URL, json.dumps(body), content_type=content_type)


def test_a_repeated_body_is_validated_once_and_answers_the_same(api, validations):
    body = create_body(config={"prompt": "memo once"})
    body["scheduledAt"] = "2030-01-01T00:00:00Z"  # a datetime and camelCase survive the copy
    first = _post(api, body)
    second = _post(api, body)
    assert first.status_code == 201, first.content
    assert second.status_code == 200 and second.json()["reused"] == "dedup"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["scheduled_at"] == first.json()["scheduled_at"]
    assert len(validations) == 1


def test_a_remembered_body_is_handed_out_as_a_copy(rf):
    calls: list[int] = []

    def read() -> tuple[dict[str, Any], dict[str, Any]]:
        calls.append(1)
        return {"a": {"b": 1}}, {"config": {"prompt": "x"}}

    from rest_framework.request import Request

    create_input.create_input_forget()
    request = Request(rf.post(URL, b'{"a": 1}', content_type="application/json"))
    body, data, remembered = create_input.create_input_read(request, read)
    assert not remembered
    data["config"]["prompt"] = "changed by a caller"
    body["a"]["b"] = 2
    again = create_input.create_input_read(request, read)
    assert again == ({"a": {"b": 1}}, {"config": {"prompt": "x"}}, True)
    assert len(calls) == 1


def test_invalid_bodies_are_validated_every_time(api, validations):
    body = create_body(config={"generation_type": "nope"})
    first, second = _post(api, body), _post(api, body)
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()
    assert first.json()["error"]["code"] == "invalid_choice"
    assert len(validations) == 2


def test_other_content_types_and_large_bodies_are_not_remembered(api, validations, monkeypatch):
    body = create_body(config={"prompt": "memo charset"})
    _post(api, body, "application/json")
    _post(api, body, "application/json; charset=utf-8")  # another key: validated again
    large = create_body(config={"prompt": "memo large"})
    monkeypatch.setattr(create_input, "MEMO_MAX_BYTES", len(json.dumps(large)) - 1)
    _post(api, large)
    _post(api, large)
    assert len(validations) == 4
