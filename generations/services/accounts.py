"""Users, workspaces and API tokens for operators and the demo."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..models import Workspace, WorkspaceMembership


class WorkspaceMissing(Exception):
    """The named workspace does not exist and creating it was not asked for."""


@transaction.atomic
def api_token_create(
    *, username: str, workspace_slug: str, create_workspace: bool = False, staff: bool = False
) -> str:
    """The user's API token; creates the user and the membership if missing.

    The workspace must exist (``WorkspaceMissing``, and nothing is written, otherwise), so a
    mistyped slug never makes a new one; ``create_workspace`` creates it when missing.
    ``staff`` makes the user staff (the telemetry and cache endpoints need it); it never
    takes staff away. Idempotent: running it twice returns the same token.
    """
    workspace = Workspace.objects.filter(slug=workspace_slug).first()
    created = workspace is None
    if workspace is None:
        if not create_workspace:
            raise WorkspaceMissing(workspace_slug)
        workspace = Workspace.objects.create(
            slug=workspace_slug, name=workspace_slug.replace("-", " ").title()
        )
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    if staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
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
