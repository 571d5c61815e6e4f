"""Who may watch what: the caller of a stream and the scope of its subscription.

Synchronous (they read the database); the async views and the consumer call them through
``streams.db.in_db``. A stream is scoped like the rest of the API: the caller's
workspaces, and another workspace's generation is "not found". The dev panel (a staff
member with the admin's view permission, signed in with a session) watches every
workspace, as its pages show every workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from rest_framework import exceptions as drf_exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from core.errors import ApiError, ValidationFailed
from generations.errors import GenerationNotFound, WorkspaceNotFound
from generations.events import EVENT_TYPES
from generations.models import TERMINAL_STATUSES, Generation, Workspace
from generations.selectors import ascii_digits, generation_get, workspace_list, workspace_resolve

from .feed import Scope

User = AbstractBaseUser | AnonymousUser
MAX_EVENT_ID = 2**63 - 1


class NotAuthenticated(ApiError):
    status_code = 401
    code = "not_authenticated"


class AuthenticationFailed(ApiError):
    status_code = 401
    code = "authentication_failed"


@dataclass(frozen=True)
class Caller:
    user: Any
    panel: bool  # staff in the dev panel: every workspace

    @classmethod
    def of(cls, user: Any, *, session: bool) -> Caller:
        panel = bool(session and user.is_staff and user.has_perm("generations.view_generation"))
        return cls(user, panel)


def caller_from_request(request: HttpRequest) -> Caller:
    """The API token (``Authorization: Token …``) or the session's user, as DRF decides
    for every other endpoint. Raises ``NotAuthenticated`` / ``AuthenticationFailed``."""
    drf_request = Request(request)
    for authenticator in (TokenAuthentication(), SessionAuthentication()):
        try:
            found = authenticator.authenticate(drf_request)
        except drf_exceptions.AuthenticationFailed as exc:
            raise AuthenticationFailed(str(exc.detail)) from exc
        except drf_exceptions.PermissionDenied as exc:  # a session without its CSRF token
            raise AuthenticationFailed(str(exc.detail)) from exc
        if found is not None:
            return Caller.of(found[0], session=isinstance(authenticator, SessionAuthentication))
    raise NotAuthenticated("Authentication credentials were not provided.")


def caller_from_token(key: str) -> Caller | None:
    """The user of an API token (WebSocket handshakes), ``None`` when it is unknown."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return Caller(token.user, panel=False)


def last_event_id(value: str | None) -> int | None:
    """A client's last event id (``Last-Event-ID`` / ``last_event_id``), ``None`` if absent."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not ascii_digits(text) or int(text) > MAX_EVENT_ID:
        raise ValidationFailed.single(
            "invalid_last_event_id", "last_event_id", "The last event id must be an event id."
        )
    return int(text)


def event_types(values: Iterable[str]) -> frozenset[str] | None:
    """The ``type`` filter (repeated or comma-separated); ``None`` means every type."""
    wanted = {part.strip() for value in values for part in value.split(",") if part.strip()}
    if not wanted:
        return None
    unknown = sorted(wanted - EVENT_TYPES)
    if unknown:
        raise ValidationFailed.single(
            "invalid_event_type",
            "type",
            f"Unknown event type {unknown[0]!r}; one of: {', '.join(sorted(EVENT_TYPES))}.",
        )
    return frozenset(wanted)


def generation_scope(caller: Caller, generation_id: str) -> tuple[Scope, bool]:
    """The scope of one generation's stream and whether it is already terminal.
    Raises ``GenerationNotFound`` for a generation the caller cannot see."""
    if caller.panel:
        generation = Generation.objects.filter(id=generation_id).first()
        if generation is None:
            raise GenerationNotFound()
    else:
        generation = generation_get(user=caller.user, generation_id=generation_id)
    return Scope(generation_id=str(generation.id)), generation.status in TERMINAL_STATUSES


def workspace_scope(
    caller: Caller, workspace: str | int | None, types: frozenset[str] | None
) -> Scope:
    """Every generation of the caller's workspaces, or of the one named (id or slug);
    raises ``WorkspaceNotFound`` for a workspace the caller is not a member of."""
    text = "" if workspace is None else str(workspace)
    if ascii_digits(text) and int(text) > MAX_EVENT_ID:  # no such id; PostgreSQL refuses it
        raise WorkspaceNotFound()
    if workspace in (None, ""):
        if caller.panel:
            return Scope(workspace_ids=None, types=types)
        ids = workspace_list(user=caller.user).values_list("id", flat=True)
        return Scope(workspace_ids=frozenset(ids), types=types)
    if caller.panel:
        text = str(workspace)
        lookup = {"id": int(text)} if ascii_digits(text) else {"slug": text}
        found = Workspace.objects.filter(**lookup).first()
        if found is None:
            raise WorkspaceNotFound()
        return Scope(workspace_ids=frozenset({found.id}), types=types)
    return Scope(
        workspace_ids=frozenset({workspace_resolve(user=caller.user, workspace_id=workspace).id}),
        types=types,
    )
