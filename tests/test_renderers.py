"""core.renderers: orjson's bytes only where they are DRF's renderer's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import orjson
import pytest
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from core.renderers import JSONRenderer, plain_json


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True], "b": {"c": "é\u2028\u2029"}, "n": 2**64 - 1},
        {"x": 0.0001, "y": 1e-10, "z": 1.5e300, "w": -(2**63)},
        {"results": [{"": ""}], "next": None},
    ],
)
def test_plain_json_writes_what_drf_writes(value: dict[str, Any]) -> None:
    written = plain_json(value)
    assert written is not None
    assert written.content == DrfJSONRenderer().render(value)
    assert written == value
    assert JSONRenderer().render(written) == written.content


def test_plain_json_refuses_what_orjson_writes_otherwise() -> None:
    for value in (2**64, datetime.now(UTC), Decimal("1.5"), {1: "int key"}, {"s": {1, 2}}):
        assert plain_json({"v": value}) is None, value
    assert plain_json({"u": uuid4()}) is not None  # orjson writes str(uuid), as DRF does


def test_an_indented_page_is_written_by_drf():
    page = plain_json({"results": [{"id": "x", "n": 1}]})
    assert page is not None
    indented = JSONRenderer().render(page, "application/json; indent=2", {})
    assert indented == DrfJSONRenderer().render(dict(page), "application/json; indent=2", {})
    assert json.loads(indented) == orjson.loads(page.content)


def test_any_other_body_is_rendered_by_drf_unchanged() -> None:
    body = {"at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "cost": Decimal("1.50")}
    assert JSONRenderer().render(body) == DrfJSONRenderer().render(body)
    envelope = {"error": {"code": "not_found", "message": "No such \u2028 thing."}}
    assert JSONRenderer().render(envelope) == DrfJSONRenderer().render(envelope)


def test_a_page_with_fragments_is_passed_through_or_decoded_for_drf() -> None:
    page = plain_json({"results": [{"v": orjson.Fragment('{"b": [1, 0.00001], "a": "\u2028"}')}]})
    assert page is not None
    assert page.content == b'{"results":[{"v":{"b": [1, 0.00001], "a": "\\u2028"}}]}'
    assert JSONRenderer().render(page) == page.content
    indented = JSONRenderer().render(page, "application/json; indent=2", {})
    value = {"results": [{"v": {"b": [1, 1e-05], "a": "\u2028"}}]}
    assert indented == DrfJSONRenderer().render(value, "application/json; indent=2", {})
