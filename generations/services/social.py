"""Social context: relationship values → tier, intimacy level, band and content rating.

One data-driven table, used by the create flow, ``validate`` and the
``social-context/build`` endpoint. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RATING_ORDER: tuple[str, ...] = ("sfw", "romantic", "mature_implied", "restricted")
BANDS: tuple[str, ...] = ("none", "light", "deep", "intense")
AXES: tuple[str, ...] = ("affinity", "trust", "chemistry", "tension")

# (lower bound of affinity, tier), checked from the top.
TIERS: tuple[tuple[float, str], ...] = (
    (80, "lover"),
    (60, "close_friend"),
    (30, "friend"),
    (10, "acquaintance"),
    (0, "stranger"),
)


@dataclass(frozen=True)
class IntimacyLevel:
    id: str
    minimum: Mapping[str, float]
    maximum: Mapping[str, float]
    band: str
    rating: str


# Highest first; the first level whose thresholds all hold wins.
INTIMACY_LEVELS: tuple[IntimacyLevel, ...] = (
    IntimacyLevel(
        "soulmates",
        {"affinity": 95, "chemistry": 95, "trust": 90},
        {"tension": 10},
        "intense",
        "mature_implied",
    ),
    IntimacyLevel(
        "very_intimate",
        {"affinity": 80, "chemistry": 80, "trust": 60},
        {},
        "intense",
        "mature_implied",
    ),
    IntimacyLevel(
        "intimate", {"affinity": 60, "chemistry": 60, "trust": 40}, {}, "deep", "mature_implied"
    ),
    IntimacyLevel(
        "deep_flirt", {"affinity": 40, "chemistry": 40, "trust": 20}, {}, "deep", "romantic"
    ),
    IntimacyLevel("light_flirt", {"affinity": 20, "chemistry": 20}, {}, "light", "romantic"),
)
LEVELS_BY_ID = {level.id: level for level in INTIMACY_LEVELS}
BAND_RATING = {
    "none": "sfw",
    "light": "romantic",
    "deep": "mature_implied",
    "intense": "mature_implied",
}


def rating_rank(rating: str) -> int:
    return RATING_ORDER.index(rating)


def min_rating(*ratings: str | None) -> str:
    present = [r for r in ratings if r]
    return min(present, key=rating_rank) if present else RATING_ORDER[-1]


def relationship_tier(values: Mapping[str, float]) -> str:
    affinity = float(values.get("affinity") or 0)
    return next(tier for bound, tier in TIERS if affinity >= bound)


def intimacy_level(values: Mapping[str, float]) -> IntimacyLevel | None:
    def holds(level: IntimacyLevel) -> bool:
        return all(float(values.get(k) or 0) >= v for k, v in level.minimum.items()) and all(
            float(values.get(k) or 0) <= v for k, v in level.maximum.items()
        )

    return next((level for level in INTIMACY_LEVELS if holds(level)), None)


@dataclass(frozen=True)
class SocialMapping:
    relationship_tier: str
    intimacy_level: str | None
    intimacy_band: str
    base_content_rating: str
    content_rating: str
    max_content_rating: str
    clamped: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "relationship_tier": self.relationship_tier,
            "intimacy_level": self.intimacy_level,
            "intimacy_band": self.intimacy_band,
            "base_content_rating": self.base_content_rating,
            "content_rating": self.content_rating,
            "max_content_rating": self.max_content_rating,
            "clamped": self.clamped,
        }


def social_map(
    *, values: Mapping[str, float], world_max_rating: str, user_max_rating: str | None = None
) -> SocialMapping:
    """Map relationship values through the table, clamped to min(world max, user max)."""
    level = intimacy_level(values)
    band = level.band if level else "none"
    base = level.rating if level else "sfw"
    ceiling = min_rating(world_max_rating, user_max_rating)
    effective = min_rating(base, ceiling)
    return SocialMapping(
        relationship_tier=relationship_tier(values),
        intimacy_level=level.id if level else None,
        intimacy_band=band,
        base_content_rating=base,
        content_rating=effective,
        max_content_rating=ceiling,
        clamped=effective != base,
    )


def social_context_resolve(
    social: Mapping[str, Any] | None, *, workspace_max_rating: str
) -> dict[str, Any] | None:
    """The social context stored on a generation: derived fields filled, rating clamped.

    Values the request states explicitly win over derived ones; the effective rating is
    clamped to min(workspace max, request world max, request user max) and a clamp is
    recorded as ``rating_clamped`` with the ``original_rating``.
    """
    if not social:
        return None
    out = {k: v for k, v in social.items() if v not in (None, "", [], {})}
    values = out.get("relationship_values") or {}
    if values:
        level = intimacy_level(values)
        out.setdefault("relationship_tier_id", relationship_tier(values))
        if level is not None:
            out.setdefault("intimacy_level_id", level.id)
    level_id = out.get("intimacy_level_id")
    known = LEVELS_BY_ID.get(level_id) if level_id else None
    if "intimacy_band" not in out:
        out["intimacy_band"] = known.band if known else "none"
    requested = out.get("content_rating") or BAND_RATING[out["intimacy_band"]]
    ceiling = min_rating(
        workspace_max_rating, out.get("world_max_rating"), out.get("user_max_rating")
    )
    effective = min_rating(requested, ceiling)
    out["content_rating"] = effective
    out["world_max_rating"] = min_rating(workspace_max_rating, out.get("world_max_rating"))
    if effective != requested:
        out["rating_clamped"] = True
        out["original_rating"] = requested
    return out
