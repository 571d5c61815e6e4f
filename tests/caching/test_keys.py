"""Cache slot keys: exact format of the design note, pinned."""

from __future__ import annotations

import pytest

from caching.keys import cache_key, slot_storage_key, ttl_seconds

BASE = {
    "operation_type": "video_transition",
    "purpose": "gap_fill",
    "from_scene_id": "scene-123",
    "to_scene_id": "scene-456",
    "version": 1,
}


@pytest.mark.parametrize(
    ("strategy", "extra", "expected"),
    [
        ("once", {}, "generation:video_transition|gap_fill|scene-123|scene-456|once|v1"),
        (
            "per_playthrough",
            {"playthrough_id": "pt-9"},
            "generation:video_transition|gap_fill|scene-123|scene-456|per_playthrough|pt:pt-9|v1",
        ),
        (
            "per_player",
            {"player_id": "42"},
            "generation:video_transition|gap_fill|scene-123|scene-456|per_player|player:42|v1",
        ),
    ],
)
def test_key_vectors(strategy, extra, expected):
    assert cache_key(strategy=strategy, **BASE, **extra) == expected


def test_always_has_no_slot():
    assert cache_key(strategy="always", **BASE) is None


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError):
        cache_key(strategy="sometimes", **BASE)


def test_version_and_missing_scene():
    key = cache_key(**{**BASE, "to_scene_id": None, "version": 7}, strategy="once")
    assert key == "generation:video_transition|gap_fill|scene-123|none|once|v7"


def test_without_any_scene_the_content_hash_takes_the_scene_position():
    key = cache_key(
        operation_type="text_to_image",
        purpose="adaptive",
        from_scene_id=None,
        to_scene_id=None,
        strategy="once",
        version=1,
        content_hash="ab" * 32,
    )
    assert key == f"generation:text_to_image|adaptive|hash:{'ab' * 32}|none|once|v1"


def test_separator_in_ids_is_escaped():
    key = cache_key(**{**BASE, "from_scene_id": "a|b"}, strategy="once")
    assert key == "generation:video_transition|gap_fill|a%7Cb|scene-456|once|v1"


def test_ttls_match_the_design_note():
    day = 86400
    assert ttl_seconds("once") == 365 * day
    assert ttl_seconds("per_playthrough") == 90 * day
    assert ttl_seconds("per_player") == 180 * day
    assert ttl_seconds("always") is None


def test_slots_are_stored_per_workspace():
    assert slot_storage_key(3, "generation:x") == "slot:3:generation:x"
