"""Prompt resolution: which template, which variables, what final prompt.

Sources in priority order: ``prompt_version_id`` (that version), ``template_id`` (a family
slug) with ``template_label`` (the family's version carrying that label), ``template_id``
alone (its active version, or an A/B pick among several active versions), the inline
``config.prompt``.

The A/B pick is sticky per playthrough (else player): the first create of a key records a
``PromptAssignment`` and later requests of that key keep its version while it stays active,
whatever the weights become. A new key is placed by a hash of (family, key) over the
weights: the versions' ``weight`` (allocation ``fixed``) or their ``adaptive_weight``
(``adaptive``, kept up to date by the experiments app). ``{{ name }}`` placeholders
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

from ..models import Allocation, PromptAssignment, PromptFamily, PromptVersion, Workspace

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


@dataclass(frozen=True)
class PromptResolution:
    final_prompt: str
    source: str  # "prompt_version" | "template" | "inline" | "none"
    prompt_version: PromptVersion | None = None
    variables: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # only when not strict
    # An A/B pick for a key without an assignment yet: (family, key) to record on create.
    assign: tuple[PromptFamily, str] | None = None


def placeholders(template: str) -> list[str]:
    """Placeholder names of a template, in first-use order, without repeats."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def prompt_render(
    template: str,
    *,
    variables: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> tuple[str, dict[str, str]]:
    """Substitute every placeholder; raises ``missing_template_variables`` when one has no
    value (``strict=False``: leaves such placeholders as written)."""
    merged: dict[str, str] = {}
    for source in (defaults or {}, context or {}, variables):
        merged.update({k: str(v) for k, v in source.items() if v is not None})
    names = placeholders(template)
    missing = [n for n in names if n not in merged]
    if missing and strict:
        message = "Missing template variables: " + ", ".join(missing) + "."
        raise ValidationFailed(
            message,
            code="missing_template_variables",
            fields={
                "template_variables": [{"code": "missing_template_variables", "message": message}]
            },
        )
    used = {n: merged[n] for n in names if n in merged}
    text = PLACEHOLDER.sub(lambda m: merged.get(m.group(1), m.group(0)), template)
    return text, used


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


def sticky_pick(
    family_id: Any, key: str, weighted: list[tuple[PromptVersion, float]]
) -> PromptVersion:
    """Place a key among weighted versions by a hash of (family, key): deterministic."""
    total = sum(max(w, 0.0) for _, w in weighted)
    if total <= 0:
        return weighted[0][0]
    digest = hashlib.sha256(f"{family_id}:{key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for version, weight in weighted:
        point -= max(weight, 0.0)
        if point < 0:
            return version
    return weighted[-1][0]


def allocation_weights(family: PromptFamily, active: list[PromptVersion]) -> list[float]:
    """Each active version's share of new assignments under the family's allocation."""
    if family.allocation == Allocation.ADAPTIVE and all(
        v.adaptive_weight is not None for v in active
    ):
        return [float(v.adaptive_weight or 0.0) for v in active]
    return [float(v.weight) for v in active]


def sticky_assign(
    family: PromptFamily,
    key: str,
    active: list[PromptVersion],
    weights: list[float],
    assigned: Any | None,
) -> tuple[PromptVersion, bool]:
    """The key's version: its assignment while that version is active, else a new pick.

    Returns the version and whether it is a new assignment (to be recorded).
    """
    for version in active:
        if assigned is not None and version.id == assigned:
            return version, False
    return sticky_pick(family.id, key, list(zip(active, weights, strict=True))), True


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


def _family(workspace: Workspace, slug: str, field_name: str) -> PromptFamily:
    family = PromptFamily.objects.filter(workspace=workspace, slug=slug).first()
    if family is None:
        raise ValidationFailed.single(
            "template_not_found", field_name, f"Unknown prompt family {slug!r}."
        )
    return family


def _version_by_label(family: PromptFamily, label: str) -> PromptVersion:
    for version in family.versions.order_by("-version_number"):
        if label in (version.labels or []):
            return version
    raise ValidationFailed.single(
        "template_label_not_found",
        "template_label",
        f"Prompt family {family.slug!r} has no version labelled {label!r}.",
    )


def _version_by_family(
    workspace: Workspace, slug: str, field_name: str, sticky: str
) -> tuple[PromptVersion, tuple[PromptFamily, str] | None]:
    family = _family(workspace, slug, field_name)
    active = list(family.versions.filter(is_active=True).order_by("version_number"))
    if not active:
        raise ValidationFailed.single(
            "template_inactive", field_name, f"Prompt family {slug!r} has no active version."
        )
    if len(active) == 1:
        return active[0], None
    assigned = (
        PromptAssignment.objects.filter(family=family, key=sticky)
        .values_list("version_id", flat=True)
        .first()
    )
    version, new = sticky_assign(
        family, sticky, active, allocation_weights(family, active), assigned
    )
    return version, (family, sticky) if new else None


def prompt_assignment_record(resolution: PromptResolution) -> None:
    """Record a new A/B assignment (inside the create transaction)."""
    if resolution.assign is None or resolution.prompt_version is None:
        return
    family, key = resolution.assign
    PromptAssignment.objects.update_or_create(
        family=family, key=key, defaults={"version": resolution.prompt_version}
    )


def prompt_resolve(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    social: Mapping[str, Any] | None,
    strict: bool = True,
) -> PromptResolution:
    """Resolve the final prompt of a validated create request (reads the database only).

    ``strict=False`` (the render endpoint) lists missing variables instead of raising.
    """
    config = data["config"]
    variables = data.get("template_variables") or {}
    context = context_variables(data, social)
    player = data.get("player_context") or {}
    sticky = str(player.get("playthrough_id") or player.get("player_id") or "")

    version: PromptVersion | None = None
    assign: tuple[PromptFamily, str] | None = None
    source = "none"
    label = data.get("template_label")
    if data.get("prompt_version_id"):
        version, source = _version_by_id(workspace, data["prompt_version_id"]), "prompt_version"
    elif data.get("template_id") and label:
        family = _family(workspace, data["template_id"], "template_id")
        version, source = _version_by_label(family, label), "template"
    elif data.get("template_id"):
        version, assign = _version_by_family(workspace, data["template_id"], "template_id", sticky)
        source = "template"
    elif config.get("template_id"):
        version, assign = _version_by_family(
            workspace, config["template_id"], "config.template_id", sticky
        )
        source = "template"

    template, defaults = (version.template, version.variables) if version else (None, None)
    if template is None:
        template = config.get("prompt") or ""
        source = "inline" if template else "none"
    if not template:
        return PromptResolution("", "none", None, {})
    text, used = prompt_render(
        template, variables=variables, context=context, defaults=defaults, strict=strict
    )
    missing = [n for n in placeholders(template) if n not in used]
    return PromptResolution(text, source, version, used, missing, assign)
