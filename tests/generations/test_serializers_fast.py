"""The create serializer's fast plan (``generations.serializers_fast``) gives exactly
DRF's validated data (same keys, order, types and values) or declines; it never answers
for a body DRF refuses, and never changes the body it reads.

The bodies: the builders' and hand-written ones covering every field, every one of their
fields removed or replaced by each of a long list of awkward values (wrong types, bools
where numbers go, big and non-finite numbers, blank and padded strings, unicode, NUL and
lone surrogates, strings at and past every length limit, values at and past every range
limit, extra keys), and thousands of random bodies drawn from the serializer's own field
tree.
"""

from __future__ import annotations

import pickle
import random
from typing import Any

import pytest
from rest_framework import fields as drf_fields
from rest_framework import serializers as drf
from rest_framework.exceptions import ValidationError

from generations import serializers_fast
from generations.models import Purpose, Strategy
from generations.operations import GENERATION_TYPES
from generations.serializers import GenerationCreateSerializer
from generations.serializers_fast import create_validated
from tests.builders import create_body, node_config, transition_body

REFUSED = object()


def drf_validated(body: Any) -> Any:
    """DRF alone: the serializer's validation without the plan in front of it."""
    serializer = GenerationCreateSerializer(data=body)
    try:
        return dict(super(GenerationCreateSerializer, serializer).run_validation(body))
    except ValidationError:
        return REFUSED


def assert_same(fast: Any, slow: Any, path: str = "body") -> None:
    """Equal, and of the same types all the way down, dict keys in the same order."""
    assert type(fast) is type(slow), f"{path}: {type(fast).__name__} != {type(slow).__name__}"
    if isinstance(slow, dict):
        assert list(fast) == list(slow), f"{path}: keys {list(fast)} != {list(slow)}"
        for key in slow:
            assert_same(fast[key], slow[key], f"{path}.{key}")
    elif isinstance(slow, list):
        assert len(fast) == len(slow), f"{path}: {len(fast)} items != {len(slow)}"
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    elif isinstance(slow, float):
        assert repr(fast) == repr(slow), f"{path}: {fast!r} != {slow!r}"
    else:
        assert fast == slow, f"{path}: {fast!r} != {slow!r}"


def _copy(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value))  # a deep copy, faster than copy.deepcopy


def check(body: Any) -> bool:
    """Both validations of ``body``; whether the plan answered."""
    before = _copy(body)
    fast = create_validated(body)
    assert body == before, "the plan changed its input"
    slow = drf_validated(_copy(body))
    if fast is None:
        return False
    assert slow is not REFUSED, f"the plan accepted a body DRF refuses: {body!r}"
    assert_same(fast, slow)
    return True


FULL_BODY: dict[str, Any] = {
    "config": {
        "generation_type": "transition",
        "purpose": "gap_fill",
        "style": {
            "mood_from": "tense",
            "mood_to": "",
            "pacing": "slow",
            "transition_type": "gradual",
            "sandbox": {"look": "grainy", "cfg": 7},
        },
        "duration": {"min": 1, "max": 10.5, "target": None},
        "constraints": {
            "rating": "PG-13",
            "required_elements": ["rain", "lamp"],
            "avoid_elements": ["sun"],
            "content_rules": [],
        },
        "strategy": "per_playthrough",
        "seed_source": "playthrough",
        "fallback": {
            "mode": "default_content",
            "default_content_id": "c-1",
            "max_retries": 3,
            "timeout_ms": 30000,
        },
        "template_id": "tpl",
        "enabled": False,
        "version": 7,
        "prompt": "  keep my spaces  ",
        "image_url": "https://a.example/0.png",
        "image_urls": ["https://a.example/1.png", "http://a.example/2.png"],
        "video_url": "https://v.example/a.mp4",
        "prompts": [" walk into the rain "],
        "social_context": {
            "intimacy_level_id": None,
            "relationship_tier_id": "friend",
            "intimacy_band": "light",
            "content_rating": "romantic",
            "world_max_rating": "mature_implied",
            "user_max_rating": "sfw",
            "npc_ids": ["npc-1", "npc-2"],
            "relationship_values": {"affinity": 50, "trust": 20.5, "chemistry": 0, "tension": 100},
        },
    },
    "provider_id": "sandbox",
    "from_scene": {
        "id": "scene-1",
        "mood": "tense",
        "summary": "a long day",
        "location": "harbour",
        "emotional_state": "tired",
    },
    "to_scene": {"id": "scene-2", "mood": ""},
    "player_context": {
        "playthrough_id": "pt-1",
        "player_id": "p-1",
        "choices": {"door": "left", "count": 3, "nested": {"a": [1, 2]}},
        "flags": {"met_npc": True, "lost": False},
        "stats": {"hp": 10, "luck": 0.5},
    },
    "social_context": {"relationship_values": {"affinity": 80}, "npc_ids": []},
    "prompt_version_id": "00000000-0000-4000-8000-000000000001",
    "template_id": "greeting",
    "template_label": "A",
    "template_variables": {"name": "Ada", "level": 3, "ratio": 0.5, "ok": True},
    "workspace_id": "main",
    "name": "a name",
    "description": "",
    "priority": 0,
    "scheduled_at": "2030-01-01T00:00:00Z",
    "parent_generation_id": "00000000-0000-4000-8000-000000000002",
    "force_new": True,
}


def _strategy_body(generation_type: str, strategy: str, purpose: str) -> dict[str, Any]:
    player = {"playthrough_id": "pt", "player_id": "pl"}
    return create_body(
        config={"generation_type": generation_type, "strategy": strategy, "purpose": purpose},
        player_context=player,
    )


WELL_FORMED = [
    create_body(),
    transition_body(),
    FULL_BODY,
    {"config": {"generation_type": "dialogue", "purpose": "adaptive", "strategy": "once"}},
    create_body(config={"duration": {"target": 5.0, "max": 10.0, "min": 1}}),
    create_body(config={"style": {"sandbox": {"cfg": "x"}, "other": {}}}),
    create_body(config={"prompt": "unicode é 🙂 ✓ \u2028 and tabs\t"}),
    create_body(from_scene={"id": " padded id "}, to_scene={"id": "inn"}),
    create_body(description="x" * 5000, name="n" * 255),
    *[
        _strategy_body(kind, strategy, purpose)
        for kind in sorted(GENERATION_TYPES)
        for strategy in Strategy.values
        for purpose in Purpose.values[:2]
    ],
    *[_strategy_body("text_to_image", "once", purpose) for purpose in Purpose.values],
]


def test_the_plan_is_compiled_and_answers_every_well_formed_body():
    answered = [check(body) for body in WELL_FORMED]
    assert all(answered), [b for b, ok in zip(WELL_FORMED, answered, strict=True) if not ok]


def test_the_plan_validates_fields_it_does_not_model_with_the_fields_own_run_validation():
    # These fields keep DRF's own checks (URLs, UUIDs, datetimes, free-form maps); every
    # other field is checked by the plan. A new field type shows up here.
    assert serializers_fast.delegated_fields() == [
        "config.image_url",
        "config.image_urls",
        "config.video_url",
        "player_context.choices",
        "player_context.flags",
        "player_context.stats",
        "prompt_version_id",
        "template_variables",
        "scheduled_at",
        "parent_generation_id",
    ]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(_paths(item, (*prefix, index)))
    return found


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = _copy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DELETE = object()
AWKWARD: list[Any] = [
    None,
    "",
    " ",
    "\t\n",
    "  padded  ",
    "x",
    "é",
    "🙂 unicode ✓",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    1.5,
    5.0,
    -0.0,
    0.5,
    10**30,
    10**400,
    -(10**400),
    1e308,
    [],
    {},
    ["a"],
    [1],
    [None],
    [True],
    ["a", "b"],
    {"a": 1},
    {"a": {"b": 1}},
    {"mode": "skip"},
    "5",
    "5.0",
    "1e3",
    "true",
    "1",
    "once",
    "medium",
    "PG",
    "skip",
    "sfw",
    "https://a.example/x.png",
    "HTTP://b.example",
    "ftp://c.example",
    "00000000-0000-4000-8000-000000000001",
    "2030-01-01T00:00:00Z",
    "not-a-date",
]


def _choice_strings() -> list[str]:
    found: set[str] = set()

    def walk(field: Any) -> None:
        if isinstance(field, drf.Serializer):
            for child in field.fields.values():
                walk(child)
        elif isinstance(field, drf_fields.ListField | drf_fields.DictField):
            walk(field.child)
        elif isinstance(field, drf_fields.ChoiceField):
            found.update(str(choice) for choice in field.choices)

    walk(GenerationCreateSerializer())
    return sorted(found)


def _lengths() -> list[Any]:
    out: list[Any] = []
    for limit in (1, 50, 64, 100, 200, 255, 2000, 2048, 4096, 5000):
        out += ["x" * limit, "x" * (limit + 1), " " + "y" * limit + " "]
    out.append("https://a.example/" + "p" * 2030)  # at and past the URL limit
    out.append("https://a.example/" + "p" * 2031)
    return out


def _numbers() -> list[Any]:
    out: list[Any] = []
    for limit in (0, 1, 10, 32, 50, 100, 1000, 3600, 600_000, 1_000_000):
        out += [limit, limit + 1, limit - 1, float(limit), limit + 0.5, limit - 0.0001]
    return out


def _lists() -> list[Any]:
    return [["e"] * n for n in (16, 17, 32, 33, 50, 51)] + [
        ["https://a.example/1.png"] * n for n in (1, 2, 16, 17)
    ]


def _maps() -> list[Any]:
    return [{f"k{i}": i for i in range(n)} for n in (8, 9, 32, 33, 50, 51, 64, 65)] + [
        {"k" * 100: 1},
        {"k" * 101: 1},
        {"p": {f"k{i}": i for i in range(33)}},
    ]


REPLACEMENTS = [*AWKWARD, *_choice_strings(), *_lengths(), *_numbers(), *_lists(), *_maps()]
_BY_KIND: dict[type, list[Any]] = {
    str: [*_choice_strings(), *_lengths()],
    int: _numbers(),
    float: _numbers(),
    list: _lists(),
    dict: _maps(),
}


def _replacements(current: Any) -> list[Any]:
    """Every awkward value, and the limits that matter for a value of this kind."""
    return [_DELETE, *AWKWARD, *_BY_KIND.get(type(current), [])]


_BASES = {"full": FULL_BODY, "builder": create_body(), "transition": transition_body()}


@pytest.mark.parametrize(
    ("base", "top"),
    [(name, top) for name, body in _BASES.items() for top in body],
)
def test_every_field_removed_or_replaced_gives_drf_s_answer_or_a_refusal(base, top):
    body = _BASES[base]
    answered = 0
    total = 0
    for path in [(top,), *_paths(body[top], (top,))]:
        for value in _replacements(_at(body, path)):
            total += 1
            answered += check(_replaced(body, path, value))
    assert answered > total // 50  # the plan is exercised, not only declining


@pytest.mark.parametrize("base", [FULL_BODY, create_body()], ids=range(2))
def test_extra_keys_at_every_level_are_refused_like_drf_does(base):
    objects = [()] + [p for p in _paths(base) if isinstance(_at(base, p), dict)]
    for path in objects:
        for key, value in [("colour", "blue"), ("zz", None), ("generationType", "x")]:
            body = _copy(base)
            _at(body, path)[key] = value
            check(body)
    # Camel-case spellings are renamed before validation, not here: refused as unknown.
    assert create_validated(create_body(forceNew=True)) is None


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def test_bodies_that_are_not_objects_are_refused():
    for body in [None, [], "x", 1, [create_body()], ({"config": {}},)]:
        assert create_validated(body) is None


def _random_value(rng: random.Random, field: Any, rate: float, depth: int) -> Any:
    """A value for ``field``: of its kind and within its limits, or (at ``rate``) just
    past them or anything at all."""
    bad = rng.random() < rate
    if bad and rng.random() < 0.5:
        return rng.choice(REPLACEMENTS)
    if isinstance(field, drf.Serializer):
        return _random_object(rng, field, rate, depth + 1)
    if isinstance(field, drf_fields.ChoiceField):
        return rng.choice(["", "nope", 1]) if bad else rng.choice([*map(str, field.choices)])
    if isinstance(field, drf_fields.BooleanField):
        return rng.choice([1, "true", 0.0]) if bad else rng.choice([True, False])
    if isinstance(field, drf_fields.IntegerField):
        low, high = field.min_value, field.max_value
        if bad:
            return rng.choice([high + 1, low - 1, float(low), str(low), True])
        return rng.choice([low, high, rng.randint(low, high)])
    if isinstance(field, drf_fields.FloatField):
        low = 0 if field.min_value is None else field.min_value
        high = 100 if field.max_value is None else field.max_value
        if bad:
            return rng.choice([high + 0.5, low - 1, str(low), True, 10**400])
        return rng.choice([low, high, rng.uniform(low, high), float(high), None])
    if isinstance(field, drf_fields.ListField):
        longest = field.max_length or 4
        size = rng.choice([longest + 1, 0]) if bad else rng.choice([0, 1, 2, 3, longest])
        return [_random_value(rng, field.child, rate, depth + 1) for _ in range(size)]
    if isinstance(field, drf_fields.URLField):
        if bad:
            return rng.choice(["ftp://x.example/a", "x", "https://"])
        return rng.choice(["https://a.example/i.png", "http://b.example/x?y=1"])
    if isinstance(field, drf_fields.UUIDField):
        return rng.choice(["nope", 5]) if bad else "00000000-0000-4000-8000-000000000003"
    if isinstance(field, drf_fields.DateTimeField):
        return rng.choice(["soon", 3]) if bad else rng.choice(["2030-01-01T00:00:00Z", None])
    if isinstance(field, drf_fields.DictField):
        size = 70 if bad else rng.randint(0, 3)
        if isinstance(field.child, drf_fields.BooleanField):
            pool: list[Any] = [True, False]
        elif isinstance(field.child, drf_fields.FloatField):
            pool = [1, 0.5, -3]
        else:
            pool = [1, "v", True, 0.5]
        return {f"k{i}": rng.choice(pool) for i in range(size)}
    if isinstance(field, drf_fields.CharField):
        longest = field.max_length or 50
        if bad:
            return rng.choice(["z" * (longest + 1), 5, "\x00", ["x"]])
        blank = ["", "\t", " "] if field.allow_blank else []
        return rng.choice(["text", " spaced ", "é" * rng.randint(1, 5), "z" * longest, *blank])
    return rng.choice(AWKWARD)


def _random_object(rng: random.Random, serializer: Any, rate: float, depth: int) -> Any:
    out: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        keep = 0.95 if field.required else 0.4
        if depth < 4 and rng.random() < keep:
            out[name] = _random_value(rng, field, rate, depth)
    if rng.random() < rate / 2:
        out["unknown"] = 1
    return out


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.05, 0.2])
def test_random_bodies_drawn_from_the_serializer_s_fields_agree(rate):
    rng = random.Random(f"genpipe {rate}")
    prototype = GenerationCreateSerializer()
    answered = refused = 0
    for _ in range(1000):
        body = _random_object(rng, prototype, rate, 0)
        if check(body):
            answered += 1
        elif rate == 0.0:  # well-formed values only: the plan declines none DRF accepts
            assert drf_validated(body) is REFUSED, body
            refused += 1
    if rate <= 0.01:
        assert answered > 500  # the plan is exercised, not only declining


def test_a_builders_config_alone_is_answered_with_its_defaults():
    validated = create_validated({"config": node_config()})
    assert validated is not None
    assert validated["priority"] == 5 and validated["force_new"] is False
    assert validated["config"]["enabled"] is True and validated["config"]["version"] == 1
    assert_same(validated, drf_validated({"config": node_config()}))


def test_the_serializer_answers_through_the_plan_and_falls_back_for_errors(monkeypatch):
    seen: list[Any] = []
    real = serializers_fast.create_validated

    def spy(data: Any) -> Any:
        seen.append(real(data))
        return seen[-1]

    monkeypatch.setattr(serializers_fast, "create_validated", spy)
    good = GenerationCreateSerializer(data=create_body())
    assert good.is_valid(), good.errors
    assert seen[-1] is not None and dict(good.validated_data) == seen[-1]
    bad = GenerationCreateSerializer(data=create_body(priority="high"))
    assert not bad.is_valid()
    assert seen[-1] is None
    assert bad.errors == {"priority": ["A valid integer is required."]}
