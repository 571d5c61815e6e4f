"""What the create endpoints call: one service per request shape.

``generation_submit`` is a create with its optional ``Idempotency-Key``;
``request_prompt_preview`` resolves a request's prompt for ``POST /prompts/render``;
``simple_request_shape`` turns the thin clients' image-to-video request into the
structured request; ``request_validate`` answers ``validate`` (the API and the dev
panel's validator) without writing anything but its statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from rest_framework import serializers as drf

from core.errors import ValidationFailed, flatten_drf_errors

from ..errors import LegacyPayloadRejected, is_legacy_payload
from ..models import Workspace
from ..serializers import GenerationCreateSerializer, snake_case_keys
from .creation import (
    CreateOutcome,
    generation_create,
    prepared_estimate,
    request_prepare,
    social_resolve,
    validation_record,
)
from .idempotency import generation_create_idempotent
from .prompts import PromptResolution, prompt_resolve
from .validation import Issue, ValidationReport

# What simple-image-to-video means, in the structured format.
SIMPLE_IMAGE_TO_VIDEO: dict[str, str] = {
    "generation_type": "image_to_video",
    "purpose": "adaptive",
    "strategy": "always",
}
SIMPLE_PRIORITY = 7


def generation_submit(
    *,
    workspace: Workspace,
    user: AbstractBaseUser | AnonymousUser | None,
    data: Mapping[str, Any],
    body: Any,
    idempotency_key: str | None = None,
    new_body: bool = False,
) -> CreateOutcome:
    """Create (or reuse) a generation; with an ``Idempotency-Key``, at most once per key
    and workspace within 24 hours (``services.idempotency``). ``body`` is the request as
    sent, which the key is bound to; ``new_body`` is ``generation_create``'s."""

    def create() -> CreateOutcome:
        return generation_create(workspace=workspace, user=user, data=data, new_body=new_body)

    if idempotency_key is None:
        return create()
    return generation_create_idempotent(
        workspace=workspace, key=idempotency_key, body=body, create=create
    )


def simple_request_shape(simple: Mapping[str, Any]) -> dict[str, Any]:
    """The structured request of a simple image-to-video request (validated again by the
    create serializer, like any structured request)."""
    structured: dict[str, Any] = {
        "config": {
            **SIMPLE_IMAGE_TO_VIDEO,
            "fallback": {"mode": "skip"},
            "prompt": simple["prompt"],
            "image_url": simple["image_url"],
        },
        "priority": simple.get("priority", SIMPLE_PRIORITY),
    }
    for key in ("provider_id", "name", "workspace_id"):
        if simple.get(key):
            structured[key] = simple[key]
    return structured


def generation_validate(
    *, workspace: Workspace, data: Mapping[str, Any], source: str = "validate"
) -> dict[str, Any]:
    """The validation report of a structured request: errors, warnings, suggestions and,
    when valid, its cache key, reproducible hash and final prompt. Creates nothing; the
    outcome is counted in the validation statistics under ``source``."""
    with transaction.atomic():  # prompt resolution reads; nothing is written
        prepared = request_prepare(workspace=workspace, data=data)
    validation_record(prepared.report, source=source)
    report = prepared.report.as_dict()
    if prepared.report.valid:
        report["cache_key"] = prepared.cache_key
        report["reproducible_hash"] = prepared.reproducible_hash
        report["final_prompt"] = prepared.prompt.final_prompt
        estimate = prepared_estimate(prepared)
        report["estimated_cost_usd"] = None if estimate is None else str(estimate)
    return report


def request_validate(
    *,
    body: Mapping[str, Any],
    workspace_for: Callable[[dict[str, Any]], Workspace],
    source: str = "validate",
) -> dict[str, Any]:
    """The validation report of a create body as sent: one shape for every problem.

    What would make a create refuse the body — a flat legacy payload, a wrong type, a
    missing or unknown field, a broken rule, no ``workspace_id`` for a member of several
    workspaces — is an error ``{code, field, message}`` with the code and the dotted path
    the create's envelope would give (``valid: false``). ``workspace_for`` resolves the
    workspace of a well-formed request; a workspace the caller cannot use still raises
    (``404``/``403``), like a body that is not a JSON object is refused before this.
    Schema errors are counted in the validation statistics like rule errors.
    """
    if is_legacy_payload(dict(body)):
        legacy = LegacyPayloadRejected()
        return _report_of([Issue(legacy.code, "body", legacy.message)], source=source)
    serializer = GenerationCreateSerializer(data=snake_case_keys(dict(body)))
    if not serializer.is_valid():
        detail = drf.ValidationError(serializer.errors).detail
        issues = [
            Issue(error["code"], path, error["message"])
            for path, errors in flatten_drf_errors(detail).items()
            for error in errors
        ]
        return _report_of(issues, source=source)
    data = dict(serializer.validated_data)
    try:
        workspace = workspace_for(data)
    except ValidationFailed as exc:  # workspace_required: a member of several, none named
        issues = [
            Issue(error["code"], path, error["message"])
            for path, errors in exc.fields.items()
            for error in errors
        ]
        return _report_of(issues, source=source)
    return generation_validate(workspace=workspace, data=data, source=source)


def _report_of(errors: list[Issue], *, source: str) -> dict[str, Any]:
    report = ValidationReport(errors=errors)
    validation_record(report, source=source)
    return report.as_dict()


def request_prompt_preview(*, workspace: Workspace, data: Mapping[str, Any]) -> PromptResolution:
    """The prompt a create with these prompt fields would resolve (``POST /prompts/render``).

    The same social resolution and prompt resolution as ``request_prepare``, including the
    A/B pick for the player or playthrough; missing variables are listed, not raised, and
    nothing is written (a new player's assignment is recorded by the create only).
    """
    data = {**data, "config": data.get("config") or {}}
    return prompt_resolve(
        workspace=workspace, data=data, social=social_resolve(workspace, data), strict=False
    )
