"""Request bodies for tests: declare only what the test cares about."""

from __future__ import annotations

import copy
from typing import Any


def node_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "generation_type": "text_to_image",
        "purpose": "adaptive",
        "strategy": "once",
        "style": {"pacing": "medium"},
        "duration": {"min": 1, "max": 10, "target": 5},
        "constraints": {"rating": "PG"},
        "fallback": {"mode": "skip"},
        "prompt": "a lighthouse at dusk",
    }
    config.update(overrides)
    return config


def create_body(**overrides: Any) -> dict[str, Any]:
    config_overrides = overrides.pop("config", {})
    body: dict[str, Any] = {"config": node_config(**config_overrides), "provider_id": "sandbox"}
    body.update(overrides)
    return copy.deepcopy(body)


def transition_body(**overrides: Any) -> dict[str, Any]:
    body = create_body(
        config={
            "generation_type": "transition",
            "purpose": "gap_fill",
            "strategy": "per_playthrough",
            "prompt": "",
            "image_urls": ["https://a.example/1.png", "https://a.example/2.png"],
            "prompts": ["walk into the rain"],
        },
        from_scene={"id": "scene-123", "mood": "tense"},
        to_scene={"id": "scene-456", "mood": "calm"},
        player_context={"playthrough_id": "pt-9"},
    )
    body.update(overrides)
    return body
