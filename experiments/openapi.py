"""OpenAPI examples of the prompt library, feedback and experiment API (documentation only)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from core.schema import error_responses

READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)

FAMILY_EXAMPLE = OpenApiExample(
    "A family",
    value={
        "slug": "npc-greeting",
        "name": "NPC greeting",
        "description": "What an NPC says when the player walks up.",
        "allocation": "fixed",
    },
)
VERSION_EXAMPLE = OpenApiExample(
    "A version",
    request_only=True,
    value={
        "template": "{{npc_name}} greets the player, sounding {{mood_to}}.",
        "variables": {"npc_name": None, "mood_to": "friendly"},
        "weight": 1,
        "labels": ["staging"],
        "notes": "Shorter greeting.",
    },
)
RENDER_REQUEST = OpenApiExample(
    "Render for a playthrough",
    request_only=True,
    value={
        "template_id": "npc-greeting",
        "template_variables": {"npc_name": "Mira"},
        "to_scene": {"id": "harbour", "mood": "wistful"},
        "player_context": {"playthrough_id": "pt-9"},
    },
)
RENDER_RESPONSE = OpenApiExample(
    "Rendered",
    response_only=True,
    value={
        "final_prompt": "Mira greets the player, sounding wistful.",
        "prompt_version_id": "0b7a4b1e-5f3c-4d0e-9a51-6c2f0e0f6d11",
        "variables": {"npc_name": "Mira", "mood_to": "wistful"},
        "missing_variables": [],
    },
)
FEEDBACK_REQUEST = OpenApiExample(
    "A player's rating",
    request_only=True,
    value={"metric": "rating", "value": 4, "rater_id": "player-42", "comment": "nice"},
)
EXPERIMENT_RESPONSE = OpenApiExample(
    "Two variants, collecting",
    response_only=True,
    value={
        "family": "npc-greeting",
        "metric": "rating",
        "allocation": "fixed",
        "running": True,
        "verdict": "collecting",
        "winner": None,
        "variants": [
            {
                "version": 1,
                "prompt_version_id": "0b7a4b1e-5f3c-4d0e-9a51-6c2f0e0f6d11",
                "active": True,
                "weight": 1,
                "allocation_share": 0.5,
                "exposures": 41,
                "generations": 12,
                "success_rate": 1.0,
                "latency_ms": {"p50": 212, "p95": 480},
                "avg_cost_usd": "0.002000",
                "metrics": {
                    "rating": {"n": 18, "mean": 3.61, "interval": [3.12, 4.1], "p_best": 0.21}
                },
            },
            {
                "version": 2,
                "prompt_version_id": "8d3c2a90-1b7e-4f5a-8c6d-2e9f1a0b3c44",
                "active": True,
                "weight": 1,
                "allocation_share": 0.5,
                "exposures": 38,
                "generations": 11,
                "success_rate": 1.0,
                "latency_ms": {"p50": 230, "p95": 510},
                "avg_cost_usd": "0.002400",
                "metrics": {
                    "rating": {"n": 17, "mean": 4.06, "interval": [3.62, 4.5], "p_best": 0.79}
                },
            },
        ],
    },
)
