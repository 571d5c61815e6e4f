"""Social context table (SPEC §6)."""

from __future__ import annotations

import pytest

from generations.services.social import social_context_resolve, social_map


@pytest.mark.parametrize(
    ("values", "tier", "level", "band", "base"),
    [
        ({}, "stranger", None, "none", "sfw"),
        ({"affinity": 9.99}, "stranger", None, "none", "sfw"),
        ({"affinity": 10}, "acquaintance", None, "none", "sfw"),
        ({"affinity": 25, "chemistry": 25}, "acquaintance", "light_flirt", "light", "romantic"),
        (
            {"affinity": 45, "chemistry": 45, "trust": 25},
            "friend",
            "deep_flirt",
            "deep",
            "romantic",
        ),
        (
            {"affinity": 75, "chemistry": 70, "trust": 55, "tension": 15},
            "close_friend",
            "intimate",
            "deep",
            "mature_implied",
        ),
        (
            {"affinity": 85, "chemistry": 85, "trust": 65},
            "lover",
            "very_intimate",
            "intense",
            "mature_implied",
        ),
        (
            {"affinity": 96, "chemistry": 96, "trust": 91, "tension": 5},
            "lover",
            "soulmates",
            "intense",
            "mature_implied",
        ),
        (
            {"affinity": 96, "chemistry": 96, "trust": 91, "tension": 50},
            "lover",
            "very_intimate",
            "intense",
            "mature_implied",
        ),
    ],
)
def test_table(values, tier, level, band, base):
    mapping = social_map(values=values, world_max_rating="restricted")
    assert (mapping.relationship_tier, mapping.intimacy_level, mapping.intimacy_band) == (
        tier,
        level,
        band,
    )
    assert mapping.base_content_rating == mapping.content_rating == base
    assert mapping.clamped is False


def test_rating_is_clamped_to_the_lower_of_world_and_user_max():
    values = {"affinity": 75, "chemistry": 70, "trust": 55}
    world = social_map(values=values, world_max_rating="romantic")
    assert (world.content_rating, world.clamped) == ("romantic", True)
    user = social_map(values=values, world_max_rating="restricted", user_max_rating="sfw")
    assert (user.content_rating, user.clamped) == ("sfw", True)


def test_resolve_keeps_explicit_fields_and_records_the_clamp():
    resolved = social_context_resolve(
        {"content_rating": "restricted", "npc_ids": ["n1"]}, workspace_max_rating="mature_implied"
    )
    assert resolved == {
        "content_rating": "mature_implied",
        "npc_ids": ["n1"],
        "intimacy_band": "none",
        "world_max_rating": "mature_implied",
        "rating_clamped": True,
        "original_rating": "restricted",
    }


def test_resolve_of_nothing_is_nothing():
    assert social_context_resolve(None, workspace_max_rating="romantic") is None
