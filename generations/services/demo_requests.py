"""The demo's requests: a deterministic mix of images, NPC lines, transitions and videos.

``demo_request(index)`` is the ``index``-th request of the mix (``services.demo`` creates
them); the same index always gives the same request.
"""

from __future__ import annotations

import re
from typing import Any

NPCS = ("Mira the innkeeper", "Captain Voss", "Old Tam", "Sera the cartographer", "Brother Aldric")
MOODS = ("warm", "wary", "playful", "tense", "melancholy", "hopeful")
LOCATIONS = (
    "a rain-soaked harbour at dusk",
    "the lantern market at night",
    "a ruined watchtower above the clouds",
    "the royal library, dust in the sunbeams",
    "a misty pine forest at dawn",
    "the smugglers' cove under a full moon",
    "a snowbound mountain pass",
)
# (id, mood, summary, location)
SCENES = (
    ("harbour-arrival", "hopeful", "the ship docks at Greyhaven", "Greyhaven harbour"),
    ("tavern-brawl", "tense", "a fight breaks out in the Salty Eel", "the Salty Eel tavern"),
    ("library-secret", "curious", "a hidden door behind the shelves", "the royal library"),
    ("forest-ambush", "afraid", "bandits spring from the pines", "the Whisperwood"),
    ("summit-dawn", "triumphant", "sunrise over the peaks", "Mount Caldr"),
)
# Relationship values that land on different tiers and intimacy levels; the last one
# asks for more than the workspace allows and is clamped to ``romantic``.
RELATIONSHIPS: tuple[dict[str, float], ...] = (
    {"affinity": 15, "trust": 20, "chemistry": 5, "tension": 30},
    {"affinity": 45, "trust": 55, "chemistry": 10, "tension": 10},
    {"affinity": 55, "trust": 30, "chemistry": 45, "tension": 20},
    {"affinity": 85, "trust": 70, "chemistry": 82, "tension": 5},
)

CYCLE = 12  # requests per round of the demo mix
WRITER_SLOTS = frozenset({1, 5, 10})  # the writer owns the NPC lines
NAME_PATTERN = re.compile(r"^demo #(\d+) ")


def _pick(items: tuple[Any, ...], n: int) -> Any:
    return items[n % len(items)]


def _asset(name: str) -> str:
    return f"https://assets.example.com/genpipe-demo/{name}.png"


def _scene(index: int) -> dict[str, str]:
    scene_id, mood, summary, location = _pick(SCENES, index)
    return {"id": scene_id, "mood": mood, "summary": summary, "location": location}


def _social(values: dict[str, float], npc: str) -> dict[str, Any]:
    npc_id = npc.split()[0].lower()
    return {"relationship_values": dict(values), "npc_ids": [npc_id]}


def _image(cycle: int, label: str, strategy: str = "once", **extra: Any) -> dict[str, Any]:
    location = _pick(LOCATIONS, cycle)
    config: dict[str, Any] = {
        "generation_type": "text_to_image",
        "purpose": "adaptive",
        "strategy": strategy,
        "seed_source": "fixed" if strategy == "once" else "player",
        "style": {"pacing": "medium"},
        "constraints": {"rating": "PG", "avoid_elements": ["text", "watermark"]},
        "fallback": {"mode": "placeholder"},
        "prompt": f"Key art of {location}, painterly, soft rim light",
    }
    return {"config": config, "name": label, **extra}


def _npc_line(cycle: int, label: str, *, generation_type: str, strategy: str) -> dict[str, Any]:
    npc = _pick(NPCS, cycle)
    body: dict[str, Any] = {
        "config": {
            "generation_type": generation_type,
            "purpose": "adaptive" if generation_type == "npc_response" else "ambient",
            "strategy": strategy,
            "fallback": {"mode": "default_content", "default_content_id": "greeting-generic"},
        },
        "template_id": "npc-greeting",
        "template_variables": {"npc_name": npc, "mood_to": _pick(MOODS, cycle)},
        "social_context": _social(_pick(RELATIONSHIPS, cycle), npc),
        "name": label,
    }
    if strategy == "per_player":
        body["player_context"] = {"player_id": f"player-{cycle % 5}"}
        body["config"]["seed_source"] = "player"
    elif strategy == "per_playthrough":
        body["player_context"] = {"playthrough_id": f"pt-{cycle:03d}", "player_id": "player-1"}
        body["config"]["seed_source"] = "playthrough"
    return body


def _transition(cycle: int, label: str, *, images: int) -> dict[str, Any]:
    from_scene, to_scene = _scene(cycle), _scene(cycle + 1)
    urls = [_asset(f"{from_scene['id']}-{n}") for n in range(images - 1)]
    urls.append(_asset(f"{to_scene['id']}-0"))
    prompts = ["the camera drifts through the doorway", "light floods in as the scene settles"]
    return {
        "config": {
            "generation_type": "transition",
            "purpose": "gap_fill",
            "strategy": "per_playthrough",
            "seed_source": "playthrough",
            "template_id": "scene-transition",
            "style": {"transition_type": "gradual", "pacing": "medium"},
            "duration": {"min": 2, "max": 6, "target": 4},
            "fallback": {"mode": "skip"},
            "image_urls": urls,
            "prompts": prompts[: images - 1],
        },
        "from_scene": from_scene,
        "to_scene": to_scene,
        "player_context": {"playthrough_id": f"pt-{cycle:03d}", "flags": {"met_mira": True}},
        "name": label,
    }


def _video(
    cycle: int, label: str, *, generation_type: str, purpose: str, strategy: str
) -> dict[str, Any]:
    location = _pick(LOCATIONS, cycle + 3)
    body: dict[str, Any] = {
        "config": {
            "generation_type": generation_type,
            "purpose": purpose,
            "strategy": strategy,
            "seed_source": "playthrough" if strategy == "per_playthrough" else "fixed",
            "duration": {"min": 3, "max": 10, "target": 6},
            "fallback": {"mode": "retry", "max_retries": 2},
            "prompt": f"Ambient loop of {location}, gentle motion, no characters",
        },
        "name": label,
    }
    if strategy == "per_playthrough":
        body["player_context"] = {"playthrough_id": f"pt-{cycle:03d}"}
    return body


def demo_request(index: int) -> dict[str, Any]:
    """Request body number ``index`` of the demo sequence, as a client would POST it.

    The sequence repeats a round of ``CYCLE`` requests. In each round, request 7 repeats
    request 0 (reused via dedup, same hash) and request 8 targets the cache slot of
    request 2 with different content (reused via the cache).
    """
    cycle, slot = divmod(index, CYCLE)
    label = f"demo #{index:03d} "
    if slot in (0, 7):
        return _image(cycle, label + "key art")
    if slot == 1:
        return _npc_line(
            cycle, label + "greeting", generation_type="npc_response", strategy="per_player"
        )
    if slot in (2, 8):
        return _transition(cycle, label + "transition", images=2 if slot == 2 else 3)
    if slot == 3:
        return {
            "config": {
                "generation_type": "image_to_video",
                "purpose": "adaptive",
                "strategy": "always",
                "fallback": {"mode": "skip"},
                "prompt": "slow push-in, leaves drifting in the wind",
                "image_url": _asset(_scene(cycle)["id"] + "-0"),
            },
            "priority": 7,
            "name": label + "animated still",
        }
    if slot == 4:
        return _video(
            cycle,
            label + "variation",
            generation_type="variation",
            purpose="variation",
            strategy="once",
        )
    if slot == 5:
        return _npc_line(cycle, label + "banter", generation_type="dialogue", strategy="always")
    if slot == 6:
        return _video(
            cycle,
            label + "environment",
            generation_type="environment",
            purpose="ambient",
            strategy="per_playthrough",
        )
    if slot == 9:
        return {
            "config": {
                "generation_type": "fusion",
                "purpose": "adaptive",
                "strategy": "once",
                "seed_source": "fixed",
                "prompt": "merge both portraits into one family resemblance",
                "image_urls": [_asset(f"portrait-{cycle}-a"), _asset(f"portrait-{cycle}-b")],
            },
            "priority": 3,
            "name": label + "fusion",
        }
    if slot == 10:
        body = _npc_line(
            cycle, label + "reply", generation_type="npc_response", strategy="per_playthrough"
        )
        body["template_variables"]["mood_to"] = "relieved"
        return body
    return _image(
        cycle,
        label + "player portrait",
        strategy="per_player",
        player_context={"player_id": f"player-{cycle % 5}", "stats": {"level": 3 + cycle}},
    )
