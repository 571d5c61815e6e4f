"""Users, workspaces and API tokens for operators and the demo."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..models import Workspace, WorkspaceMembership


@transaction.atomic
def api_token_create(*, username: str, workspace_slug: str) -> str:
    """The user's API token; creates the user, the workspace and the membership if missing.

    Idempotent: running it twice returns the same token.
    """
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    workspace, created = Workspace.objects.get_or_create(
        slug=workspace_slug, defaults={"name": workspace_slug.replace("-", " ").title()}
    )
    # The first member of a new workspace owns it; later ones join as members.
    first = created or not WorkspaceMembership.objects.filter(workspace=workspace).exists()
    role = WorkspaceMembership.Role.OWNER if first else WorkspaceMembership.Role.MEMBER
    WorkspaceMembership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def membership_ensure(*, user: Any, workspace: Workspace, role: str = "member") -> None:
    WorkspaceMembership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
