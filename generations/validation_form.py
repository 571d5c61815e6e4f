"""The dev panel's interactive validator: the API's validator on a pasted document."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers as drf

from core.errors import flatten_drf_errors

from .models import Workspace
from .serializers import GenerationCreateSerializer, snake_case_keys
from .services.creation import request_prepare, validation_record


def validate_pasted(*, workspace: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a node config or a full create request exactly as ``validate`` does.

    A bare node config is wrapped as ``{"config": …}`` with the workspace's default
    provider (or ``sandbox``). Returns the same shape as ``POST generations/validate``.
    """
    data = snake_case_keys(body)
    if "config" not in data:
        data = {"config": data}
    data.setdefault("provider_id", workspace.default_provider_id or "sandbox")
    serializer = GenerationCreateSerializer(data=data)
    if not serializer.is_valid():
        errors = [
            {"code": e["code"], "field": field, "message": e["message"]}
            for field, items in flatten_drf_errors(
                drf.ValidationError(serializer.errors).detail
            ).items()
            for e in items
        ]
        return {"valid": False, "errors": errors, "warnings": [], "suggestions": []}
    with transaction.atomic():
        prepared = request_prepare(workspace=workspace, data=dict(serializer.validated_data))
    validation_record(prepared.report, source="validate")
    report = prepared.report.as_dict()
    if prepared.report.valid:
        report["cache_key"] = prepared.cache_key
        report["reproducible_hash"] = prepared.reproducible_hash
        report["final_prompt"] = prepared.prompt.final_prompt
    return report
