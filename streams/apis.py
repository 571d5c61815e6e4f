"""Server-Sent Events: ``GET generations/{id}/events`` and ``GET generations/events``.

Async Django views returning a streaming response over an async iterator: under ASGI a
waiting stream holds no thread and no database connection (docs/events.md). Errors before
the stream starts leave as the one JSON error envelope.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse

from core.errors import ApiError, envelope
from core.outages import outage_failure
from generations.events import TERMINAL_EVENT_TYPES

from .access import (
    caller_from_request,
    event_types,
    generation_scope,
    last_event_id,
    workspace_scope,
)
from .db import in_db
from .feed import Scope
from .stream import EventStream, StreamOverflow

logger = logging.getLogger("genpipe.streams")
# The client's reconnection delay (SSE ``retry:``), in milliseconds; longer under WSGI,
# where a reconnection is a poll.
RETRY_MS = 2000
WSGI_RETRY_MS = 10000


def _error(exc: ApiError) -> JsonResponse:
    response = JsonResponse(envelope(exc.code, exc.message, exc.fields), status=exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = "Token"
    return response


def _not_get(request: HttpRequest) -> JsonResponse | None:
    if request.method == "GET":
        return None
    response = JsonResponse(
        envelope("method_not_allowed", f'Method "{request.method}" not allowed.'), status=405
    )
    response["Allow"] = "GET"
    return response


def _asgi(request: HttpRequest) -> bool:
    """Served by the ASGI application. Under WSGI a stream would hold a worker thread for
    as long as it stays open, so there it answers its history and ends (the client's
    reconnection, after ``retry``, polls)."""
    return isinstance(request, ASGIRequest)


def _resume_from(request: HttpRequest) -> int | None:
    header = request.headers.get("Last-Event-ID")
    return last_event_id(header if header is not None else request.GET.get("last_event_id"))


async def _sse(
    scope: Scope, *, after: int | None, history: bool, until_terminal: bool, live: bool
) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS if live else WSGI_RETRY_MS}\n\n".encode()
    heartbeat = float(settings.GENPIPE_STREAM_HEARTBEAT_S)
    try:
        async with EventStream(scope, after=after, history=history, live=live) as stream:
            async for event in stream.events(heartbeat_s=heartbeat):
                if event is None:
                    yield b": heartbeat\n\n"
                    continue
                yield event.sse
                if until_terminal and event.type in TERMINAL_EVENT_TYPES:
                    return
    except StreamOverflow:
        # Too far behind: end the stream; the client reconnects with its Last-Event-ID.
        logger.warning("an event stream fell behind and was closed")
    except DatabaseError as exc:
        outage_failure("database", exc.__cause__ or exc)


def _stream_response(body: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass every event through at once
    return response


async def generation_events(request: HttpRequest, generation_id: object) -> HttpResponseBase:
    """One generation's events: its history, then live; ends after the terminal event."""
    if (refused := _not_get(request)) is not None:
        return refused
    try:
        after = _resume_from(request)
        caller = await in_db(caller_from_request, request)
        scope, terminal = await in_db(generation_scope, caller, str(generation_id))
    except ApiError as exc:
        return _error(exc)
    live = not terminal and _asgi(request)
    body = _sse(scope, after=after, history=True, until_terminal=True, live=live)
    return _stream_response(body)


async def workspace_events(request: HttpRequest) -> HttpResponseBase:
    """Every generation's events in the caller's workspaces (``workspace``, ``type``
    filters); live only, or from ``Last-Event-ID`` on; stays open."""
    if (refused := _not_get(request)) is not None:
        return refused
    try:
        after = _resume_from(request)
        types = event_types(request.GET.getlist("type"))
        caller = await in_db(caller_from_request, request)
        scope = await in_db(workspace_scope, caller, request.GET.get("workspace"), types)
    except ApiError as exc:
        return _error(exc)
    body = _sse(scope, after=after, history=False, until_terminal=False, live=_asgi(request))
    return _stream_response(body)
