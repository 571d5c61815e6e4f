"""Prompt resolution: which template, which variables, what final prompt.

Sources in priority order: ``prompt_version_id`` (that version), ``template_id`` (a family
slug: its active version, or a weighted A/B pick among several active versions that is
sticky per playthrough/player), the inline ``config.prompt``. ``{{ name }}`` placeholders
take values from the request's ``template_variables``, then from the request context
(scene ids and moods, player ids, social fields), then from the template's declared
defaults. A placeholder left without a value is a 400 listing every missing name.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationFailed

from ..models import PromptFamily, PromptVersion, Workspace

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


@dataclass(frozen=True)
class PromptResolution:
    final_prompt: str
    source: str  # "prompt_version" | "template" | "inline" | "none"
    prompt_version: PromptVersion | None = None
    variables: dict[str, str] = field(default_factory=dict)


def placeholders(template: str) -> list[str]:
    """Placeholder names of a template, in first-use order, without repeats."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def prompt_render(
    template: str,
    *,
    variables: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, str]]:
    """Substitute every placeholder; raises ``missing_template_variables`` when one has no value."""
    merged: dict[str, str] = {}
    for source in (defaults or {}, context or {}, variables):
        merged.update({k: str(v) for k, v in source.items() if v is not None})
    names = placeholders(template)
    missing = [n for n in names if n not in merged]
    if missing:
        message = "Missing template variables: " + ", ".join(missing) + "."
        raise ValidationFailed(
            message,
            code="missing_template_variables",
            fields={
                "template_variables": [{"code": "missing_template_variables", "message": message}]
            },
        )
    used = {n: merged[n] for n in names}
    return PLACEHOLDER.sub(lambda m: merged[m.group(1)], template), used


def context_variables(data: Mapping[str, Any], social: Mapping[str, Any] | None) -> dict[str, Any]:
    """Variables every template may use, taken from the request's context."""
    out: dict[str, Any] = {}
    for side in ("from_scene", "to_scene"):
        for key, value in (data.get(side) or {}).items():
            out[f"{side}_{key}"] = value
        if data.get(side):
            out[side] = data[side].get("summary") or data[side]["id"]
    style = (data.get("config") or {}).get("style") or {}
    out["mood_from"] = style.get("mood_from") or (data.get("from_scene") or {}).get("mood")
    out["mood_to"] = style.get("mood_to") or (data.get("to_scene") or {}).get("mood")
    player = data.get("player_context") or {}
    out["playthrough_id"] = player.get("playthrough_id")
    out["player_id"] = player.get("player_id")
    if social:
        out["relationship_tier"] = social.get("relationship_tier_id")
        out["intimacy_level"] = social.get("intimacy_level_id")
        out["intimacy_band"] = social.get("intimacy_band")
        out["content_rating"] = social.get("content_rating")
        if social.get("npc_ids"):
            out["npc_ids"] = ", ".join(str(n) for n in social["npc_ids"])
    return {k: v for k, v in out.items() if v not in (None, "")}


def _weighted_pick(versions: list[PromptVersion], sticky_key: str) -> PromptVersion:
    total = sum(max(v.weight, 0) for v in versions)
    if total <= 0:
        return versions[0]
    digest = hashlib.sha256(f"{versions[0].family_id}:{sticky_key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for version in versions:
        point -= max(version.weight, 0)
        if point < 0:
            return version
    return versions[-1]


def _version_by_id(workspace: Workspace, version_id: uuid.UUID) -> PromptVersion:
    version = (
        PromptVersion.objects.select_related("family")
        .filter(id=version_id, family__workspace=workspace)
        .first()
    )
    if version is None:
        raise ValidationFailed.single(
            "prompt_version_not_found", "prompt_version_id", "Unknown prompt version."
        )
    return version


def _version_by_family(
    workspace: Workspace, slug: str, field_name: str, sticky: str
) -> PromptVersion:
    family = PromptFamily.objects.filter(workspace=workspace, slug=slug).first()
    if family is None:
        raise ValidationFailed.single(
            "template_not_found", field_name, f"Unknown prompt family {slug!r}."
        )
    active = list(family.versions.filter(is_active=True).order_by("version_number"))
    if not active:
        raise ValidationFailed.single(
            "template_inactive", field_name, f"Prompt family {slug!r} has no active version."
        )
    return active[0] if len(active) == 1 else _weighted_pick(active, sticky)


def prompt_resolve(
    *, workspace: Workspace, data: Mapping[str, Any], social: Mapping[str, Any] | None
) -> PromptResolution:
    """Resolve the final prompt of a validated create request (reads the database only)."""
    config = data["config"]
    variables = data.get("template_variables") or {}
    context = context_variables(data, social)
    player = data.get("player_context") or {}
    sticky = str(player.get("playthrough_id") or player.get("player_id") or "")

    version: PromptVersion | None = None
    source = "none"
    if data.get("prompt_version_id"):
        version, source = _version_by_id(workspace, data["prompt_version_id"]), "prompt_version"
    elif data.get("template_id"):
        version = _version_by_family(workspace, data["template_id"], "template_id", sticky)
        source = "template"
    elif config.get("template_id"):
        version = _version_by_family(workspace, config["template_id"], "config.template_id", sticky)
        source = "template"

    if version is not None:
        text, used = prompt_render(
            version.template, variables=variables, context=context, defaults=version.variables
        )
        return PromptResolution(text, source, version, used)
    inline = config.get("prompt") or ""
    if inline:
        text, used = prompt_render(inline, variables=variables, context=context)
        return PromptResolution(text, "inline", None, used)
    return PromptResolution("", "none", None, {})
