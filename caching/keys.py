"""Cache slot keys. Pure functions: this is the only place a cache key is built.

Format (the design note's, unchanged)::

    generation:{operation_type}|{purpose}|{from_scene_id}|{to_scene_id}|{strategy}|{seed}|v{version}

``seed`` is ``pt:{playthrough_id}`` for ``per_playthrough``, ``player:{player_id}`` for
``per_player`` and absent (no segment) for ``once``; ``always`` has no slot. A missing
scene id is ``none``; when *both* are missing the slot would be shared by unrelated
content, so the from-scene position carries ``hash:{reproducible_hash}`` instead.

Slots are stored per workspace: the storage key is ``slot:{workspace_id}:{cache_key}``.
"""

from __future__ import annotations

from datetime import timedelta

SLOT_PREFIX = "slot:"

TTLS: dict[str, timedelta] = {
    "once": timedelta(days=365),
    "per_playthrough": timedelta(days=90),
    "per_player": timedelta(days=180),
}


def _segment(value: str | None) -> str:
    # "|" separates segments; ids containing it are escaped so keys stay unambiguous.
    return "none" if not value else str(value).replace("%", "%25").replace("|", "%7C")


def cache_key(
    *,
    operation_type: str,
    purpose: str,
    from_scene_id: str | None,
    to_scene_id: str | None,
    strategy: str,
    version: int,
    playthrough_id: str | None = None,
    player_id: str | None = None,
    content_hash: str | None = None,
) -> str | None:
    """The slot key of a request, or ``None`` for ``always`` (never cached)."""
    if strategy == "always":
        return None
    if strategy not in TTLS:
        raise ValueError(f"unknown strategy {strategy!r}")
    from_part = _segment(from_scene_id)
    if not from_scene_id and not to_scene_id and content_hash:
        from_part = f"hash:{content_hash}"
    parts = [operation_type, purpose, from_part, _segment(to_scene_id), strategy]
    if strategy == "per_playthrough":
        parts.append(f"pt:{_segment(playthrough_id)}")
    elif strategy == "per_player":
        parts.append(f"player:{_segment(player_id)}")
    parts.append(f"v{int(version)}")
    return "generation:" + "|".join(parts)


def ttl_seconds(strategy: str) -> int | None:
    ttl = TTLS.get(strategy)
    return int(ttl.total_seconds()) if ttl else None


def slot_storage_key(workspace_id: int, key: str) -> str:
    return f"{SLOT_PREFIX}{workspace_id}:{key}"
