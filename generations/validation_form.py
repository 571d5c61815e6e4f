"""The dev panel's interactive validator: the API's validate flow on a pasted document."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers as drf

from core.errors import flatten_drf_errors

from .models import Workspace
from .serializers import GenerationCreateSerializer, snake_case_keys
from .services.submission import generation_validate


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
    return generation_validate(workspace=workspace, data=dict(serializer.validated_data))
