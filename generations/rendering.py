"""The one rendering of a generation for clients (API responses, the event feed).

Built as a plain dict: instantiating serializer fields per object costs more than the rest
of a cache-hit request. ``serializers.GenerationSerializer`` documents exactly these keys
for OpenAPI (a test compares them for every status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Generation


def generation_json(g: Generation, *, reused: str | None = None) -> dict[str, Any]:
    """The generation as clients see it; ``reused`` says why an existing one answered."""
    return {
        "id": str(g.id),
        "workspace_id": g.workspace_id,
        "status": g.status,
        "operation_type": g.operation_type,
        "provider_id": g.provider_id,
        "purpose": g.purpose,
        "strategy": g.strategy,
        "name": g.name,
        "description": g.description,
        "cache_key": g.cache_key,
        "reproducible_hash": g.reproducible_hash,
        "reused": reused,
        "final_prompt": g.final_prompt,
        "prompt_version_id": _text(g.prompt_version_id),
        "template_variables": g.template_variables,
        "canonical_params": g.canonical_params,
        "config": g.config,
        "social_context": g.social_context,
        "result": g.result,
        "error": {"code": g.error_code, "message": g.error_message} if g.error_code else None,
        "priority": g.priority,
        "scheduled_at": _iso(g.scheduled_at),
        "retry_count": g.retry_count,
        "parent_generation_id": _text(g.parent_id),
        "tokens_in": g.tokens_in,
        "tokens_out": g.tokens_out,
        "cost_usd": f"{g.cost_usd:.6f}",
        "estimated_cost_usd": f"{g.estimated_cost_usd:.6f}",
        "latency_ms": g.latency_ms,
        "attempts": g.attempt_count,
        "failover_from": g.failover_from or None,
        "fallback": fallback_instruction(g),
        "created_at": _iso(g.created_at),
        "started_at": _iso(g.started_at),
        "completed_at": _iso(g.completed_at),
        "updated_at": _iso(g.updated_at),
    }


def fallback_instruction(generation: Generation) -> dict[str, Any] | None:
    """What the client should do instead, once a generation has failed (its node's
    ``fallback``): ``skip`` the node, show ``default_content`` (with its id), show a
    ``placeholder``, or nothing more to do after ``retry`` ran out."""
    if generation.status != "failed":
        return None
    fallback = generation.node_fallback
    out: dict[str, Any] = {"mode": fallback.get("mode") or "skip"}
    if out["mode"] == "default_content":
        out["default_content_id"] = fallback.get("default_content_id")
    if out["mode"] == "placeholder":
        out["placeholder"] = {
            "operation_type": generation.operation_type,
            "reason": generation.error_code,
        }
    return out


def _iso(value: datetime | None) -> str | None:
    """DRF's datetime format: ISO 8601, UTC written as ``Z``."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value: object) -> str | None:
    return None if value is None else str(value)
