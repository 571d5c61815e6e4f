"""Reads of the generations app, always scoped to what the user may see."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.auth import auth_memo
from core.errors import ApiError, ValidationFailed

from .errors import GenerationNotFound, WorkspaceNotFound
from .models import Generation, Workspace

User = AbstractBaseUser | AnonymousUser


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is a non-negative integer written in ASCII digits only."""
    return text.isascii() and text.isdigit()


def workspace_list(*, user: User) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    user_id: Any = user.pk
    return Workspace.objects.filter(memberships__user_id=user_id)


# A user with more memberships than this is looked up in the database every time.
MEMO_MAX_WORKSPACES = 20


def _memo_workspaces(user: User) -> list[Workspace] | None:
    """The user's workspaces, kept with its cached token (``core.auth``) for the token's
    short lifetime; ``None`` without a cached token or with too many workspaces."""
    memo = auth_memo(user)
    if memo is None:
        return None
    found = memo.get("workspaces")
    if found is None:
        rows = list(workspace_list(user=user).order_by("id")[: MEMO_MAX_WORKSPACES + 1])
        found = memo["workspaces"] = rows if len(rows) <= MEMO_MAX_WORKSPACES else []
    return [copy.copy(w) for w in found] if found else None


def workspace_resolve(*, user: User, workspace_id: str | int | None) -> Workspace:
    """The workspace a request acts in: the named one, or the user's only one.

    A workspace the user is not a member of is reported as not found (404). Only ASCII
    digits make an id (``"²"`` and full-width digits pass ``str.isdigit()``); anything
    else is a slug.
    """
    known = _memo_workspaces(user)
    if known is not None:
        return _resolve_among(known, workspace_id)
    workspaces = workspace_list(user=user)
    if workspace_id not in (None, ""):
        text = str(workspace_id)
        lookup = {"id": int(text)} if ascii_digits(text) else {"slug": text}
        workspace = workspaces.filter(**lookup).first()
        if workspace is None:
            raise WorkspaceNotFound()
        return workspace
    return _only(list(workspaces[:2]))


def _resolve_among(known: list[Workspace], workspace_id: str | int | None) -> Workspace:
    if workspace_id not in (None, ""):
        text = str(workspace_id)
        if ascii_digits(text):
            wanted = int(text)
            match = [w for w in known if w.id == wanted]
        else:
            match = [w for w in known if w.slug == text]
        if not match:
            raise WorkspaceNotFound()
        return match[0]
    return _only(known[:2])


def _only(found: list[Workspace]) -> Workspace:
    if len(found) == 1:
        return found[0]
    if not found:
        raise ApiError(
            "You are not a member of any workspace.", code="no_workspace", status_code=403
        )
    raise ValidationFailed.single(
        "workspace_required", "workspace_id", "You belong to several workspaces: name one."
    )


def workspace_any_resolve(workspace: str | int) -> int:
    """The id of any workspace, named by id or slug (staff endpoints, not scoped to the
    user's memberships); ``404 workspace_not_found`` when there is none."""
    text = str(workspace)
    lookup = {"id": int(text)} if ascii_digits(text) else {"slug": text}
    found = Workspace.objects.filter(**lookup).values_list("id", flat=True).first()
    if found is None:
        raise WorkspaceNotFound()
    return int(found)


def generation_list(*, user: User) -> QuerySet[Generation]:
    """Generations of every workspace the user belongs to, newest first.

    The workspace ids are read first (one small query) and inlined: a member of one
    workspace gets ``workspace_id = X``, which PostgreSQL serves as an ordered range of
    ``gen_ws_*``; behind a subquery it sorted the whole workspace for every page.
    """
    known = _memo_workspaces(user)
    if known is not None:
        workspace_ids = [w.id for w in known]
    else:
        workspace_ids = list(workspace_list(user=user).values_list("id", flat=True))
    return Generation.objects.filter(workspace_id__in=workspace_ids).order_by("-created_at", "-id")


def generation_get(*, user: User, generation_id: uuid.UUID | str) -> Generation:
    if not user.is_authenticated:
        raise GenerationNotFound()
    # One query: the row by primary key, kept only if the user is a member of its workspace.
    generation = Generation.objects.filter(
        id=generation_id, workspace__memberships__user_id=user.pk
    ).first()
    if generation is None:
        raise GenerationNotFound()
    return generation
