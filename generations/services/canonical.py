"""Canonical parameters and the reproducible hash. Pure functions, no I/O.

Rules (``CANONICAL_VERSION`` 1): keys sorted, defaults filled, ``None``, empty strings and
empty containers dropped, integral floats written as integers (``5`` and ``5.0`` are equal),
strings NFC-normalized, set-like lists (required/avoided elements, content rules, NPC ids)
sorted and de-duplicated. Non-semantic fields (name, description, priority, fallback,
enabled, scheduled_at, force_new) are left out. The hash is the SHA-256 hex digest of the
compact sorted JSON (UTF-8, no ASCII escaping) of the canonical dict.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

CANONICAL_VERSION = 1
_SET_LIKE = ("required_elements", "avoid_elements", "content_rules")


def normalize(value: Any) -> Any:
    """Recursively normalize one JSON value; returns ``None`` for values that vanish."""
    # What parsed JSON holds (exact dict, list, str, int) is dispatched on its type first;
    # anything else (a Mapping, a tuple, a float, a subclass) takes the general rules.
    if value is None:  # most optional fields of a request: checked before anything else
        return None
    kind = type(value)
    if kind is str:
        return (value if value.isascii() else unicodedata.normalize("NFC", value)) or None
    if kind is dict:
        return _mapping(value)
    if kind is int or kind is bool:
        return value
    if kind is list:
        return _sequence(value)
    return _normalize_other(value)


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any] | None:
    out = {}
    for key, item in value.items():
        normalized = normalize(item)
        if normalized is not None:
            out[key if type(key) is str and key.isascii() else _key(key)] = normalized
    return out or None


def _key(key: Any) -> str:
    return unicodedata.normalize("NFC", str(key))


def _sequence(value: Any) -> list[Any] | None:
    items = [n for n in map(normalize, value) if n is not None]
    return items or None


def _normalize_other(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite numbers cannot be canonicalized")
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value) or None
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple):
        return _sequence(value)
    if value is None:
        return None
    raise TypeError(f"cannot canonicalize a {type(value).__name__}")


def _as_set(values: Any) -> list[Any] | None:
    if not values:
        return None
    normalized = [normalize(v) for v in values]
    return sorted(
        {json.dumps(v, sort_keys=True): v for v in normalized if v is not None}.values(),
        key=lambda v: json.dumps(v, sort_keys=True),
    )


def canonicalize(
    *,
    operation_type: str,
    provider_id: str,
    config: Mapping[str, Any],
    final_prompt: str,
    from_scene: Mapping[str, Any] | None,
    to_scene: Mapping[str, Any] | None,
    player_context: Mapping[str, Any] | None,
    social_context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The canonical dict of a validated request (see the module docstring for the rules)."""
    constraints = dict(config.get("constraints") or {})
    for key in _SET_LIKE:
        constraints[key] = _as_set(constraints.get(key))
    social = dict(social_context or {})
    if social.get("npc_ids"):
        social["npc_ids"] = _as_set(social["npc_ids"])
    canonical = {
        "canonical_version": CANONICAL_VERSION,
        "operation_type": operation_type,
        "provider_id": provider_id,
        "purpose": config.get("purpose"),
        "strategy": config.get("strategy"),
        "version": config.get("version") or 1,
        "seed_source": config.get("seed_source"),
        "prompt": final_prompt,
        "style": config.get("style"),
        "duration": config.get("duration"),
        "constraints": constraints,
        "media": {
            "image_url": config.get("image_url"),
            "image_urls": config.get("image_urls"),
            "video_url": config.get("video_url"),
            "prompts": config.get("prompts"),
        },
        "scene": {"from": from_scene, "to": to_scene},
        "player": player_context,
        "social": social,
    }
    return normalize(canonical) or {}


def canonical_json(canonical: Mapping[str, Any]) -> bytes:
    return json.dumps(
        canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def reproducible_hash(canonical: Mapping[str, Any]) -> str:
    """SHA-256 hex of the compact sorted JSON of an already canonical dict."""
    return hashlib.sha256(canonical_json(canonical)).hexdigest()
