"""The JSON parser's single walk accepts exactly the bodies that pass both the depth cap
and ``core.inputs.json_value_check``; the others get the errors those two give."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from core.inputs import json_value_check
from generations.parsers import MAX_DEPTH, BoundedJSONParser, _acceptable, _depth

SCALARS: list[Any] = [
    "",
    "text",
    "é ✓ 🙂",
    "\x00",
    "a\x00",
    "\ud800",
    "x\udfffy",
    0,
    -1,
    10**30,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    True,
    False,
    None,
]
KEYS = ["k", "é", "\x00", "a\ud800", "", "camelCase"]


def _nested(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(SCALARS)
    if rng.random() < 0.5:
        return [_nested(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS) + str(i): _nested(rng, depth - 1) for i in range(rng.randint(0, 3))}


def _chain(depth: int, leaf: Any) -> Any:
    value = leaf
    for index in range(depth - 1):
        value = [value] if index % 2 else {"k": value}
    return value


def _both_pass(value: Any) -> bool:
    return _depth(value, MAX_DEPTH) <= MAX_DEPTH and json_value_check(value) is None


DOCUMENTS: list[Any] = [
    *SCALARS,
    {},
    [],
    {"config": {"prompt": "x"}},
    *[_chain(depth, leaf) for depth in range(1, 16) for leaf in ("x", [], {}, "\x00", 1.5)],
    *[_nested(random.Random(seed), 15) for seed in range(3000)],
]


def test_one_walk_accepts_exactly_what_the_two_checks_accept():
    accepted = 0
    for document in DOCUMENTS:
        assert _acceptable(document, MAX_DEPTH) is _both_pass(document), document
        accepted += _both_pass(document)
    assert 100 < accepted < len(DOCUMENTS) - 100  # both answers well represented
    for limit in (0, 1, 2, 3):
        for document in DOCUMENTS[:500]:
            expected = _depth(document, limit) <= limit and json_value_check(document) is None
            assert _acceptable(document, limit) is expected, (limit, document)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (_chain(MAX_DEPTH + 1, "x"), ParseError),
        ({"config": {"prompt": "a\x00b"}}, ValidationError),
        ({"a\ud800": 1}, ValidationError),
        ([1, 2, [3, float("nan")]], ValidationError),
    ],
)
def test_a_refused_body_gets_the_error_of_the_check_it_fails(document, error):
    raw = json.dumps(document).encode()
    with pytest.raises(error) as caught:
        BoundedJSONParser().parse(io.BytesIO(raw))
    if error is ValidationError:
        bad = json_value_check(json.loads(raw))
        assert bad is not None
        assert caught.value.detail == bad.as_error().detail
    else:
        assert "nested deeper" in str(caught.value.detail)


def test_an_acceptable_body_is_returned_as_parsed():
    document = {"config": {"prompt": "é ✓", "n": [1, 2.5, None]}, "x": _chain(MAX_DEPTH - 1, 1)}
    raw = json.dumps(document).encode()
    assert BoundedJSONParser().parse(io.BytesIO(raw)) == document
