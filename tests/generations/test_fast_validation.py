"""``fast_validated`` answers what ``GenerationCreateSerializer`` answers, or defers to it:
on thousands of bodies built from valid ones with a value changed, added or removed, it
never accepts a body DRF rejects and never answers other data (values, types, key order)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from generations.fast_validation import fast_validated
from generations.serializers import GenerationCreateSerializer
from tests.builders import create_body, transition_body

BASES: list[dict[str, Any]] = [
    create_body(),
    transition_body(),
    create_body(
        config={
            "style": {"pacing": "fast", "mood_from": " calm ", "sandbox": {"seed": 1}},
            "constraints": {"rating": "PG-13", "required_elements": ["a", "b"]},
            "fallback": {"mode": "default_content", "default_content_id": "card"},
            "seed_source": "fixed",
            "image_url": "https://a.example/x.png",
            "version": 3,
            "enabled": False,
            "social_context": {"intimacy_band": "light", "npc_ids": ["n1"]},
        },
        social_context={
            "relationship_values": {"trust": 5, "affinity": 99.5},
            "content_rating": "romantic",
            "intimacy_level_id": None,
        },
        player_context={"playthrough_id": "p", "flags": {"a": True}, "stats": {"hp": 3}},
        from_scene={"id": "s1", "mood": ""},
        template_variables={"name": "Ada", "n": 2},
        prompt_version_id="6f1c2a4e-8a55-4b8e-9e0b-1f2d3c4b5a69",
        scheduled_at="2026-01-01T00:00:00Z",
        priority=0,
        force_new=True,
        name="  spaced  ",
    ),
]

ODD_VALUES: list[Any] = [
    None,
    "",
    "   ",
    "x",
    "x" * 101,
    "x" * 5000,
    "a\x00b",
    "\ud800",
    "Zoé 東京",
    "5",
    "1.5",
    "true",
    "G",
    "once",
    0,
    -1,
    1,
    7,
    11,
    101,
    3601,
    2**70,
    1.5,
    -0.5,
    1e308 * 10,
    float("nan"),
    True,
    False,
    [],
    ["a"],
    ["a"] * 60,
    [1, None],
    {},
    {"k": 1},
    {"mode": "skip"},
]


def _drf(body: dict[str, Any]) -> dict[str, Any] | None:
    serializer = GenerationCreateSerializer(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


def _typed(value: Any) -> Any:
    """The value with every type and every key order made part of its equality."""
    if isinstance(value, dict):
        return ("dict", [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(item) for item in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutated(base: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(base)
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = _paths(body)
        path = rng.choice(paths)
        parent: Any = body
        for step in path[:-1]:
            parent = parent[step]
        action = rng.random()
        if action < 0.7:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "mode", "trust", "id", "prompt"])] = rng.choice(ODD_VALUES)
    return body


def test_every_valid_base_is_accepted_with_drfs_data():
    for base in BASES:
        expected = _drf(base)
        assert expected is not None
        assert _typed(fast_validated(GenerationCreateSerializer, base)) == _typed(expected)


@pytest.mark.parametrize("seed", range(4))
def test_generated_bodies_get_drfs_answer_or_are_left_to_drf(seed):
    rng = random.Random(seed)
    accepted = rejected = 0
    for _ in range(1500):
        body = _mutated(rng.choice(BASES), rng)
        fast = fast_validated(GenerationCreateSerializer, copy.deepcopy(body))
        expected = _drf(copy.deepcopy(body))
        if fast is None:
            rejected += expected is None
            continue
        assert expected is not None, body  # never accepts what DRF rejects
        assert _typed(fast) == _typed(expected), body
        accepted += 1
    assert accepted > 100 and rejected > 300, (accepted, rejected)  # both sides exercised


def test_the_checked_body_is_left_as_it_was_and_its_lists_are_not_shared():
    body = copy.deepcopy(BASES[2])
    before = copy.deepcopy(body)
    data = fast_validated(GenerationCreateSerializer, body)
    assert data is not None and body == before
    data["config"]["constraints"]["required_elements"].append("c")
    assert body == before
