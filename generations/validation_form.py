"""The dev panel's interactive validator: the API's validate flow on a pasted document."""

from __future__ import annotations

from typing import Any

from .models import Workspace
from .serializers import snake_case_keys
from .services.submission import request_validate


def validate_pasted(*, workspace: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a node config or a full create request exactly as ``validate`` does.

    A bare node config is wrapped as ``{"config": …}`` with the workspace's default
    provider (or ``sandbox``). Returns the same shape as ``POST generations/validate``,
    schema errors included, in the workspace chosen on the form.
    """
    data = snake_case_keys(body)
    if "config" not in data:
        data = {"config": data}
    data.setdefault("provider_id", workspace.default_provider_id or "sandbox")
    return request_validate(body=data, workspace_for=lambda _: workspace)
