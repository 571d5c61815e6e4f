"""Canonical params and the reproducible hash: pure, pinned by reference vectors."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generations.services.canonical import canonical_json, canonicalize, reproducible_hash

TRANSITION: dict[str, Any] = {
    "operation_type": "video_transition",
    "provider_id": "sandbox",
    "config": {
        "generation_type": "transition",
        "purpose": "gap_fill",
        "strategy": "per_playthrough",
        "version": 1,
        "style": {"pacing": "medium", "sandbox": {"model": "v5", "quality": "720p"}},
        "duration": {"min": 5, "max": 15, "target": 10.0},
        "constraints": {"rating": "PG-13", "required_elements": ["rain", "lamp"]},
        "fallback": {"mode": "placeholder", "timeout_ms": 30000},
        "enabled": True,
        "image_urls": ["https://a.example/1.png", "https://a.example/2.png"],
        "prompts": ["walk into the rain"],
        "prompt": "",
    },
    "final_prompt": "",
    "from_scene": {"id": "scene-123", "mood": "tense"},
    "to_scene": {"id": "scene-456", "mood": "calm"},
    "player_context": {"playthrough_id": "pt-9"},
    "social_context": None,
}
TRANSITION_JSON = (
    '{"canonical_version":1,"constraints":{"rating":"PG-13","required_elements":["lamp","rain"]},'
    '"duration":{"max":15,"min":5,"target":10},"media":{"image_urls":["https://a.example/1.png",'
    '"https://a.example/2.png"],"prompts":["walk into the rain"]},"operation_type":'
    '"video_transition","player":{"playthrough_id":"pt-9"},"provider_id":"sandbox","purpose":'
    '"gap_fill","scene":{"from":{"id":"scene-123","mood":"tense"},"to":{"id":"scene-456",'
    '"mood":"calm"}},"strategy":"per_playthrough","style":{"pacing":"medium","sandbox":'
    '{"model":"v5","quality":"720p"}},"version":1}'
)
TRANSITION_HASH = "753fc082b54d74d7ec8966c78d5a7658415cb973d213f17a6490ca8e6b170424"
TEXT_TO_IMAGE_HASH = "38aac2a7a9015fa27570b3419e3cd4f6749da030c2b46db10bfef82723bdc14d"
EMPTY_HASH = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def canon(**changes: Any) -> dict[str, Any]:
    args = copy.deepcopy(TRANSITION)
    args.update(changes)
    return canonicalize(**args)


def test_reference_vector_transition():
    canonical = canon()
    assert canonical_json(canonical).decode() == TRANSITION_JSON
    assert reproducible_hash(canonical) == TRANSITION_HASH


def test_reference_vector_nfc_prompt():
    decomposed = "Cafe\u0301 at dawn"  # e + combining acute accent
    canonical = canonicalize(
        operation_type="text_to_image",
        provider_id="sandbox",
        config={"generation_type": "text_to_image", "purpose": "adaptive", "strategy": "once"},
        final_prompt=decomposed,
        from_scene=None,
        to_scene=None,
        player_context=None,
        social_context=None,
    )
    assert canonical["prompt"] == "Caf\u00e9 at dawn"
    assert reproducible_hash(canonical) == TEXT_TO_IMAGE_HASH


def test_empty_dict_hash_vector():
    assert reproducible_hash({}) == EMPTY_HASH


def test_key_order_does_not_matter():
    reordered = copy.deepcopy(TRANSITION)
    reordered["config"] = dict(reversed(list(reordered["config"].items())))
    reordered["from_scene"] = {"mood": "tense", "id": "scene-123"}
    assert reproducible_hash(canonicalize(**reordered)) == TRANSITION_HASH


def test_non_semantic_fields_are_left_out():
    config = copy.deepcopy(TRANSITION["config"])
    config["fallback"] = {"mode": "retry", "max_retries": 5}
    config["enabled"] = False
    assert reproducible_hash(canon(config=config)) == TRANSITION_HASH


def test_set_like_lists_are_order_free_but_media_lists_are_not():
    config = copy.deepcopy(TRANSITION["config"])
    config["constraints"]["required_elements"] = ["lamp", "rain", "rain"]
    assert reproducible_hash(canon(config=config)) == TRANSITION_HASH
    config["image_urls"] = list(reversed(config["image_urls"]))
    assert reproducible_hash(canon(config=config)) != TRANSITION_HASH


@pytest.mark.parametrize(
    "change",
    [
        {"to_scene": {"id": "scene-789", "mood": "calm"}},
        {"player_context": {"playthrough_id": "pt-10"}},
        {"social_context": {"intimacy_band": "light"}},
        {"provider_id": "other"},
        {"operation_type": "text_to_video"},
        {"final_prompt": "something"},
    ],
)
def test_any_semantic_change_changes_the_hash(change):
    assert reproducible_hash(canon(**change)) != TRANSITION_HASH


def test_nulls_empty_strings_and_empty_containers_are_dropped():
    assert canon(social_context={}) == canon(social_context=None)
    scene = {"id": "scene-123", "mood": "tense", "summary": "", "location": None}
    assert canon(from_scene=scene) == canon()


def test_non_finite_numbers_are_refused():
    config = copy.deepcopy(TRANSITION["config"])
    config["duration"]["target"] = float("nan")
    with pytest.raises(ValueError):
        canon(config=config)


README = Path(__file__).resolve().parents[2] / "README.md"
_README_VECTOR = re.compile(
    r"printf '%s' '(?P<json>[^']*)' \| sha256sum\n# → (?P<hash>[0-9a-f]{64})"
)


def _readme_vectors() -> list[tuple[str, str]]:
    section = README.read_text().split("### Canonical params and the reproducible hash")[1]
    section = section.split("\n### ")[0]
    return [(m["json"], m["hash"]) for m in _README_VECTOR.finditer(section)]


def test_the_readme_vectors_are_what_the_code_produces():
    vectors = _readme_vectors()
    assert len(vectors) == 3
    text_to_image = canonicalize(
        operation_type="text_to_image",
        provider_id="sandbox",
        config={"generation_type": "text_to_image", "purpose": "adaptive", "strategy": "once"},
        final_prompt="Cafe\u0301 at dawn",
        from_scene=None,
        to_scene=None,
        player_context=None,
        social_context=None,
    )
    produced = [{}, text_to_image, canon()]
    for (text, printed), canonical in zip(vectors, produced, strict=True):
        assert canonical_json(canonical).decode() == text
        assert reproducible_hash(canonical) == printed
        assert hashlib.sha256(text.encode()).hexdigest() == printed
    assert [h for _, h in vectors] == [EMPTY_HASH, TEXT_TO_IMAGE_HASH, TRANSITION_HASH]


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum on this system")
def test_the_readme_commands_print_the_readme_hashes():
    section = README.read_text().split("### Canonical params and the reproducible hash")[1]
    commands = re.findall(r"^printf .* \| sha256sum$", section.split("\n### ")[0], re.M)
    assert len(commands) == 3
    for command, (_, printed) in zip(commands, _readme_vectors(), strict=True):
        done = subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            check=True,
            env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
        )
        assert done.stdout.decode().split()[0] == printed
