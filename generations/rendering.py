"""The one rendering of a generation for clients (API responses, the event feed).

Built as a plain dict: instantiating serializer fields per object costs more than the rest
of a cache-hit request. ``serializers.GenerationSerializer`` documents exactly these keys
for OpenAPI (a test compares them for every status).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import connection

from core.renderers import plain_json

from .models import Generation
from .models.generations import node_fallback_of


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


def generation_document(g: Generation, *, reused: str | None = None) -> dict[str, Any]:
    """``generation_json``, as a response body written by orjson when that gives DRF's
    bytes (``core.renderers.plain_json``), else the plain dict for DRF's renderer.

    Only on PostgreSQL, whose ``jsonb`` holds no NaN nor infinity; and not when orjson
    wrote a number as ``json.dumps`` would not (a float under 1e-4: ``0.00001``,
    ``1.5e-7``) or refused one (an integer beyond 64 bits).
    """
    document = generation_json(g, reused=reused)
    if not _jsonb_text():
        return document
    written = plain_json(document)
    if written is None or _small_float_in_a_number(written.content):
        return document
    return written


# The columns a list page shows, in the order ``generation_rows_json`` unpacks them. JSON
# columns come as their text, the rest as the ORM's Python values (a UUID may be its text).
PAGE_FIELDS = (
    "id",
    "workspace_id",
    "status",
    "operation_type",
    "provider_id",
    "purpose",
    "strategy",
    "name",
    "description",
    "cache_key",
    "reproducible_hash",
    "final_prompt",
    "prompt_version_id",
    "template_variables",
    "canonical_params",
    "config",
    "social_context",
    "result",
    "error_code",
    "error_message",
    "priority",
    "scheduled_at",
    "retry_count",
    "parent_id",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "estimated_cost_usd",
    "latency_ms",
    "attempt_count",
    "failover_from",
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
)


def generation_page_json(
    rows: Sequence[Sequence[Any]], *, next_link: str | None, previous_link: str | None
) -> dict[str, Any]:
    """A list page's body, ``{"next", "previous", "results"}``, written by orjson
    (``core.renderers.plain_json``) when it can be, else decoded by ``json.loads`` for
    DRF's renderer.

    On PostgreSQL the JSON columns are not decoded: their text, as ``jsonb`` writes it
    (always valid JSON, keys in ``jsonb``'s order, numbers without exponents, a space after
    each ``:`` and ``,``), is embedded as it is (``orjson.Fragment``). The page is then the
    ORM's and DRF's once parsed, but for that whitespace inside those values and for how a
    number is spelt (``0.00001`` for ``1e-05``). Elsewhere (SQLite keeps ``json.dumps``'
    text, NaN included) they are decoded and the page is DRF's byte for byte.
    """
    jsonb = _jsonb_text()
    embed: Callable[[str], Any]
    loads: Callable[[str], Any]
    if jsonb:
        embed, loads = orjson.Fragment, _fallback_only
    else:
        embed = loads = _orjson_loads
    try:
        results = generation_rows_json(rows, embed=embed, loads=loads, texts=jsonb)
    except ValueError:  # orjson.JSONDecodeError is one
        written = None
    else:
        written = plain_json({"next": next_link, "previous": previous_link, "results": results})
    # On PostgreSQL orjson wrote no float: jsonb's numbers are text, fallbacks hold none.
    if written is not None and (jsonb or not _exponent_in_a_number(written.content)):
        return written
    results = generation_rows_json(rows, embed=json.loads, loads=json.loads, texts=jsonb)
    return {"next": next_link, "previous": previous_link, "results": results}


def _jsonb_text() -> bool:
    """Whether rows come from PostgreSQL (``selectors.GenerationRows``): JSON columns as
    ``jsonb``'s text, UUIDs and datetimes as the text clients see."""
    return connection.vendor == "postgresql"


def _fallback_only(text: str) -> dict[str, Any]:
    """The part of a ``config`` text ``node_fallback_of`` reads, decoded by orjson:
    ``ValueError`` when the fallback holds a float (or an integer beyond 64 bits, which
    orjson reads as one), which orjson may write otherwise than ``json.dumps``."""
    fallback = node_fallback_of(orjson.loads(text))
    if _holds_a_float(fallback):
        raise ValueError("a float in the fallback")
    return {"config": {"fallback": fallback}}


def _holds_a_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_a_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_a_float(v) for v in value)
    return False


def _orjson_loads(text: str) -> Any:
    """``orjson.loads``, for a text whose values ``plain_json`` writes as ``json.dumps``
    would: ``ValueError`` for a float under 1e-4 as PostgreSQL writes it (``0.00001``) or
    as ``json.dumps`` did on SQLite (``1e-05``), and for NaN and infinities (SQLite) that
    orjson refuses. orjson reads integers beyond 64 bits as floats, which it writes in
    exponent form: ``_exponent_in_a_number`` spots them in the page."""
    if "0.0000" in text or "e-0" in text:
        raise ValueError("a small float")
    return orjson.loads(text)


_NUMBER_CHARACTERS = frozenset(b"0123456789.-")
_BEFORE_A_VALUE = frozenset(b":,[")


def _exponent_in_a_number(out: bytes) -> bool:
    """Whether orjson wrote a number in exponent form, ``e+`` (from 1e16 up: maybe an
    integer beyond 64 bits that orjson read as a float), in a number token rather than
    in a string."""
    return _in_a_number(out, b"e+")


def _small_float_in_a_number(out: bytes) -> bool:
    """Whether orjson wrote a float under 1e-4 (``0.00001``, ``1.5e-7``: ``json.dumps``
    writes ``1e-05``, ``1.5e-07``), in a number token rather than in a string."""
    return _in_a_number(out, b"e-") or _in_a_number(out, b"0.0000")


def _in_a_number(out: bytes, part: bytes) -> bool:
    """Whether ``part`` (digits, a dot, an exponent's ``e``) occurs inside a number token
    of the JSON text ``out``, not inside a string."""
    at = out.find(part)
    while at != -1:
        start = at
        while start > 0 and out[start - 1] in _NUMBER_CHARACTERS:
            start -= 1
        after_a_separator = start == 0 or out[start - 1] in _BEFORE_A_VALUE
        if after_a_separator and (start < at or part[0] in _NUMBER_CHARACTERS):
            return True
        at = out.find(part, at + 1)
    return False


def generation_rows_json(
    rows: Iterable[Sequence[Any]],
    *,
    embed: Callable[[str], Any] = orjson.loads,
    loads: Callable[[str], Any] = orjson.loads,
    texts: bool = False,
) -> list[dict[str, Any]]:
    """``generation_json`` of rows holding ``PAGE_FIELDS`` (``selectors.GenerationRows``),
    without building models: each JSON column's text made a value by ``embed`` (decoded,
    or an ``orjson.Fragment``), and a failed row's ``config`` decoded by ``loads`` for
    its ``fallback``. With ``texts``, UUIDs and datetimes are already as clients see them
    (PostgreSQL wrote them: ``selectors.GenerationRows``)."""
    docs = []
    for (
        id_,
        workspace_id,
        status,
        operation_type,
        provider_id,
        purpose,
        strategy,
        name,
        description,
        cache_key,
        reproducible_hash,
        final_prompt,
        prompt_version_id,
        template_variables,
        canonical_params,
        config,
        social_context,
        result,
        error_code,
        error_message,
        priority,
        scheduled_at,
        retry_count,
        parent_id,
        tokens_in,
        tokens_out,
        cost_usd,
        estimated_cost_usd,
        latency_ms,
        attempt_count,
        failover_from,
        created_at,
        started_at,
        completed_at,
        updated_at,
    ) in rows:
        if not texts:
            id_, prompt_version_id, parent_id = str(id_), _text(prompt_version_id), _text(parent_id)
            scheduled_at, created_at = _iso(scheduled_at), _iso(created_at)
            started_at, completed_at = _iso(started_at), _iso(completed_at)
            updated_at = _iso(updated_at)
        failed = status == "failed"
        fallback = (
            _failed_fallback(node_fallback_of(loads(config)), operation_type, error_code)
            if failed
            else None
        )
        docs.append(
            {
                "id": id_,
                "workspace_id": workspace_id,
                "status": status,
                "operation_type": operation_type,
                "provider_id": provider_id,
                "purpose": purpose,
                "strategy": strategy,
                "name": name,
                "description": description,
                "cache_key": cache_key,
                "reproducible_hash": reproducible_hash,
                "reused": None,
                "final_prompt": final_prompt,
                "prompt_version_id": prompt_version_id,
                "template_variables": embed(template_variables),
                "canonical_params": embed(canonical_params),
                "config": embed(config),
                "social_context": None if social_context is None else embed(social_context),
                "result": None if result is None else embed(result),
                "error": {"code": error_code, "message": error_message} if error_code else None,
                "priority": priority,
                "scheduled_at": scheduled_at,
                "retry_count": retry_count,
                "parent_generation_id": parent_id,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": f"{cost_usd:.6f}",
                "estimated_cost_usd": f"{estimated_cost_usd:.6f}",
                "latency_ms": latency_ms,
                "attempts": attempt_count,
                "failover_from": failover_from or None,
                "fallback": fallback,
                "created_at": created_at,
                "started_at": started_at,
                "completed_at": completed_at,
                "updated_at": updated_at,
            }
        )
    return docs


def fallback_instruction(generation: Generation) -> dict[str, Any] | None:
    """What the client should do instead, once a generation has failed (its node's
    ``fallback``): ``skip`` the node, show ``default_content`` (with its id), show a
    ``placeholder``, or nothing more to do after ``retry`` ran out."""
    if generation.status != "failed":
        return None
    return _failed_fallback(
        generation.node_fallback, generation.operation_type, generation.error_code
    )


def _failed_fallback(
    fallback: dict[str, Any], operation_type: str, error_code: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": fallback.get("mode") or "skip"}
    if out["mode"] == "default_content":
        out["default_content_id"] = fallback.get("default_content_id")
    if out["mode"] == "placeholder":
        out["placeholder"] = {"operation_type": operation_type, "reason": error_code}
    return out


def _iso(value: datetime | None) -> str | None:
    """DRF's datetime format: ISO 8601, UTC written as ``Z``."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value: object) -> str | None:
    return None if value is None else str(value)
