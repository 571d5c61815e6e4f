"""Request serializers skip the optional fields a JSON object leaves out, and answer exactly
as DRF's full pass over every field does: the same validated data, the same errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework import serializers

from generations import serializers as request_serializers
from generations.serializers import GenerationCreateSerializer, snake_case_keys
from tests.builders import create_body, transition_body

BODIES: list[Any] = [
    create_body(),
    transition_body(),
    create_body(config={"style": {"pacing": "fast", "openai": {"quality": "hd"}}}),
    create_body(config={"constraints": {"rating": "PG", "required_elements": ["a", "b"]}}),
    create_body(priority=9, name="n", force_new=True),
    # Broken ones: wrong types, a missing required field, an unknown key, nesting errors.
    create_body(config={"strategy": "sometimes"}),
    create_body(config={"duration": {"min": "x"}}),
    create_body(config={"style": {"pacing": "warp"}}),
    create_body(config={"image_urls": ["ftp://x"]}),
    create_body(priority="high", from_scene=5),
    create_body(mystery=1),
    {"provider_id": "sandbox"},
    {"config": {}},
    {"config": None},
    {"config": []},
]


def _answer(body: Any) -> str:
    serializer = GenerationCreateSerializer(data=snake_case_keys(body))
    if serializer.is_valid():
        return json.dumps({"data": serializer.validated_data}, default=str, sort_keys=True)
    return json.dumps({"errors": serializer.errors}, default=str, sort_keys=True)


@pytest.fixture
def drf_full_pass(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every writable field run, as DRF's ``Serializer`` does."""

    def use() -> None:
        monkeypatch.setattr(
            request_serializers.StrictSerializer,
            "_writable_fields",
            serializers.Serializer._writable_fields,
        )

    return use


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_skipping_absent_optional_fields_answers_as_the_full_pass(body, drf_full_pass):
    ours = _answer(body)
    drf_full_pass()
    assert ours == _answer(body)


def test_the_bodies_cover_valid_and_invalid_requests():
    answers = [json.loads(_answer(body)) for body in BODIES]
    assert sum("data" in a for a in answers) == 5
    assert sum("errors" in a for a in answers) == len(BODIES) - 5


def test_absent_optional_fields_are_not_run(monkeypatch):
    runs: list[str] = []
    original = serializers.Field.run_validation

    def counted(self, data=serializers.empty):  # type: ignore[no-untyped-def]
        runs.append(self.field_name)
        return original(self, data)

    monkeypatch.setattr(serializers.Field, "run_validation", counted)
    assert "data" in json.loads(_answer(create_body()))
    sent = len(runs)
    assert "scheduled_at" not in runs and "parent_generation_id" not in runs
    runs.clear()
    monkeypatch.setattr(
        request_serializers.StrictSerializer,
        "_writable_fields",
        serializers.Serializer._writable_fields,
    )
    _answer(create_body())
    assert "scheduled_at" in runs and "parent_generation_id" in runs
    assert len(runs) > 2 * sent  # DRF's full pass runs every field
