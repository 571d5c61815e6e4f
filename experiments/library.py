"""Prompt library: families and their immutable versions (weights, labels, activation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from core.errors import Conflict, ValidationFailed
from generations.models import Allocation, PromptFamily, PromptVersion, Workspace

from .errors import FamilyNotFound, VersionNotFound

FAMILY_FIELDS = {"name": "title", "description": "description", "allocation": "allocation"}
FAMILY_SETTINGS = ("metric", "min_samples", "floor_weight")
VERSION_MUTABLE = {"weight", "labels"}


def family_list(*, workspace: Workspace) -> list[PromptFamily]:
    return list(PromptFamily.objects.filter(workspace=workspace).order_by("slug"))


def family_get(*, workspace: Workspace, slug: str) -> PromptFamily:
    """The workspace's family; another workspace's family is not found (404)."""
    family = PromptFamily.objects.filter(workspace=workspace, slug=slug).first()
    if family is None:
        raise FamilyNotFound()
    return family


def _family_apply(family: PromptFamily, data: Mapping[str, Any]) -> None:
    for key, attr in FAMILY_FIELDS.items():
        if key in data:
            setattr(family, attr, data[key])
    for key in FAMILY_SETTINGS:
        if key in data:
            setattr(family, key, data[key])


def family_create(*, workspace: Workspace, data: Mapping[str, Any]) -> PromptFamily:
    family = PromptFamily(workspace=workspace, slug=data["slug"])
    _family_apply(family, data)
    try:
        with transaction.atomic():
            family.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            f"Prompt family {data['slug']!r} already exists.", code="prompt_family_exists"
        ) from None
    return family


def family_update(*, family: PromptFamily, data: Mapping[str, Any]) -> PromptFamily:
    from .experiment import allocation_refresh  # adaptive weights follow the settings

    _family_apply(family, data)
    family.save()
    if family.allocation == Allocation.ADAPTIVE:
        allocation_refresh(family=family)
    return family


def family_delete(*, family: PromptFamily) -> None:
    """Delete the family and its versions; its generations keep their prompt text."""
    family.delete()


def version_list(*, family: PromptFamily) -> list[PromptVersion]:
    return list(family.versions.order_by("version_number"))


def version_get(*, family: PromptFamily, number: int) -> PromptVersion:
    version = family.versions.filter(version_number=number).first()
    if version is None:
        raise VersionNotFound()
    return version


def _labels_take(family: PromptFamily, version: PromptVersion, labels: list[str]) -> None:
    """A label names one version of a family: taking it removes it from the others."""
    for other in family.versions.exclude(pk=version.pk).select_for_update():
        kept = [label for label in other.labels or [] if label not in labels]
        if kept != (other.labels or []):
            other.labels = kept
            other.save(update_fields=["labels"])


def _variables_check(variables: Mapping[str, Any]) -> None:
    for name, default in variables.items():
        if default is not None and not isinstance(default, str | int | float | bool):
            raise ValidationFailed.single(
                "invalid_variable",
                f"variables.{name}",
                "A default is a string, number, boolean or null (required).",
            )


@transaction.atomic
def version_create(*, family: PromptFamily, data: Mapping[str, Any]) -> PromptVersion:
    """Append the next version (its number is the family's highest plus one)."""
    PromptFamily.objects.select_for_update().filter(pk=family.pk).first()  # number race
    variables = dict(data.get("variables") or {})
    _variables_check(variables)
    highest = family.versions.aggregate(n=Max("version_number"))["n"] or 0
    labels = list(dict.fromkeys(data.get("labels") or []))
    version = PromptVersion.objects.create(
        family=family,
        version_number=highest + 1,
        template=data["template"],
        variables=variables,
        weight=data.get("weight", 1),
        is_active=data.get("active", True),
        labels=labels,
        notes=data.get("notes", ""),
    )
    if labels:
        _labels_take(family, version, labels)
    return version


@transaction.atomic
def version_update(*, version: PromptVersion, data: Mapping[str, Any]) -> PromptVersion:
    """Change a version's weight or labels; its template, variables and notes are fixed."""
    fixed = sorted(set(data) - VERSION_MUTABLE)
    if fixed:
        message = "A version is immutable: create a new one to change " + ", ".join(fixed) + "."
        raise ValidationFailed(
            message,
            code="version_immutable",
            fields={name: [{"code": "version_immutable", "message": message}] for name in fixed},
        )
    if "weight" in data:
        version.weight = data["weight"]
    if "labels" in data:
        version.labels = list(dict.fromkeys(data["labels"]))
        _labels_take(version.family, version, version.labels)
    version.save(update_fields=["weight", "labels"])
    return version


def version_activate(*, version: PromptVersion, active: bool) -> PromptVersion:
    version.is_active = active
    version.save(update_fields=["is_active"])
    return version
