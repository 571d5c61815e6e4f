"""Reads of webhooks, scoped to what the user may see (staff: everything)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from generations.errors import WorkspaceNotFound
from generations.models import Workspace, WorkspaceMembership
from generations.selectors import User, workspace_resolve

from .errors import DeliveryNotFound, WebhookNotFound, WebhookWriteForbidden
from .models import Delivery, Endpoint

# Roles that may change a workspace's webhooks ("admin" where a deployment defines it).
MAX_ID = 2**63 - 1  # a bigger path id is simply not found (never a database error)
WRITE_ROLES = frozenset({WorkspaceMembership.Role.OWNER, "admin"})


def _staff(user: User) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def endpoint_list(*, user: User) -> QuerySet[Endpoint]:
    if not user.is_authenticated:
        return Endpoint.objects.none()
    if _staff(user):
        return Endpoint.objects.all()
    user_id: Any = user.pk
    return Endpoint.objects.filter(workspace__memberships__user_id=user_id)


def can_write(*, user: User, workspace_id: int) -> bool:
    if _staff(user):
        return True
    user_id: Any = user.pk
    return WorkspaceMembership.objects.filter(
        workspace_id=workspace_id, user_id=user_id, role__in=WRITE_ROLES
    ).exists()


def endpoint_get(*, user: User, endpoint_id: int, write: bool = False) -> Endpoint:
    """The endpoint if the user may see it (else ``webhook_not_found``); with ``write``,
    only for a workspace owner/admin or staff (else ``permission_denied``)."""
    endpoint = None
    if 0 < endpoint_id <= MAX_ID:
        endpoint = endpoint_list(user=user).filter(id=endpoint_id).first()
    if endpoint is None:
        raise WebhookNotFound()
    if write and not can_write(user=user, workspace_id=endpoint.workspace_id):
        raise WebhookWriteForbidden()
    return endpoint


def workspace_for_write(*, user: User, workspace_id: str | int | None) -> Workspace:
    """The workspace a new endpoint goes to; staff may name any workspace."""
    if _staff(user) and workspace_id not in (None, ""):
        text = str(workspace_id)
        lookup = {"id": int(text)} if text.isascii() and text.isdigit() else {"slug": text}
        workspace = Workspace.objects.filter(**lookup).first()
        if workspace is None:
            raise WorkspaceNotFound()
    else:
        workspace = workspace_resolve(user=user, workspace_id=workspace_id)
    if not can_write(user=user, workspace_id=workspace.id):
        raise WebhookWriteForbidden()
    return workspace


def delivery_list(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).prefetch_related("attempts")


def delivery_get(*, endpoint: Endpoint, delivery_id: int) -> Delivery:
    delivery = None
    if 0 < delivery_id <= MAX_ID:
        delivery = Delivery.objects.filter(endpoint=endpoint, id=delivery_id).first()
    if delivery is None:
        raise DeliveryNotFound()
    return delivery
