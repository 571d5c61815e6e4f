"""``Prefer: wait=N`` (RFC 7240) on ``POST generations`` and ``GET generations/{id}``.

An ASGI wrapper around the Django application: the request runs as usual (its thread
and database connection are released when Django finishes it); if the answer is a
generation that is not terminal yet, the wrapper awaits its terminal event on the
process's feed for what is left of ``N`` seconds, holding neither, then answers with the
generation as that event carries it (read after the event committed, rendered as ``GET``
renders it) or, when the wait ran out, as it is then, and ``Preference-Applied: wait=N``.
``N`` above ``GENPIPE_PREFER_WAIT_MAX_S`` (60) is lowered to it; a malformed ``wait`` is
ignored, as the RFC asks. Under WSGI the preference is ignored (no ``Preference-Applied``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from django.conf import settings

from generations.events import TERMINAL_EVENT_TYPES
from generations.models import TERMINAL_STATUSES, Generation
from generations.rendering import generation_json

from .db import in_db
from .feed import Event, Scope
from .stream import EventStream, StreamOverflow

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_WAITABLE = {
    "POST": re.compile(r"^/api/v1/generations$"),
    "GET": re.compile(rf"^/api/v1/generations/{_UUID}$"),
}
_WAIT = re.compile(r"(?:^|[;,])\s*wait\s*=\s*\"?(\d{1,6})\"?\s*(?=$|[;,])", re.IGNORECASE)

Message = dict[str, Any]


def wanted_wait(scope: dict[str, Any]) -> int | None:
    """The seconds a request asks to wait (clamped), ``None`` when it does not ask."""
    if scope.get("type") != "http":
        return None
    pattern = _WAITABLE.get(scope.get("method", ""))
    if pattern is None or not pattern.match(scope.get("path", "")):
        return None
    for name, value in scope.get("headers", []):
        if name == b"prefer":
            match = _WAIT.search(value.decode("latin-1"))
            if match:
                return min(int(match.group(1)), int(settings.GENPIPE_PREFER_WAIT_MAX_S))
    return None


def _rendered(generation_id: str, reused: Any) -> dict[str, Any] | None:
    generation = Generation.objects.filter(id=generation_id).first()
    return None if generation is None else generation_json(generation, reused=reused)


async def _until_terminal(generation_id: str, timeout_s: float) -> Event | None:
    """The generation's terminal event once there is one; ``None`` after ``timeout_s``."""
    if timeout_s <= 0:
        return None
    try:
        async with asyncio.timeout(timeout_s):
            # Only the terminal events: neither the history read nor the feed hands
            # over (nor renders for this wait) the others.
            scope = Scope(generation_id=generation_id, types=TERMINAL_EVENT_TYPES)
            stream = EventStream(scope, history=True)
            async with stream:
                async for event in stream.events():
                    if event is not None and event.type in TERMINAL_EVENT_TYPES:
                        return event
    except (TimeoutError, StreamOverflow):
        return None
    return None


def _result(task: asyncio.Task[Event | None]) -> Event | None:
    """What the waiter found; ``None`` when it did not finish or failed (the answer is then
    read from the database, as after a wait that ran out)."""
    if not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _terminal_rendering(event: Event | None, reused: Any) -> dict[str, Any] | None:
    """The generation as the terminal event carries it (read after that event committed,
    rendered as ``GET generations/{id}`` renders it), with the create's ``reused``."""
    generation = event.data.get("generation") if event is not None else None
    return None if generation is None else {**generation, "reused": reused}


class PreferWait:
    """ASGI middleware: ``PreferWait(django_asgi_app)``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        wait_s = wanted_wait(scope)
        if wait_s is None:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        document = _json(body) if start and start["status"] in (200, 201) else None
        if start is None or document is None:
            for message in messages:
                await send(message)
            return
        if document.get("status") not in TERMINAL_STATUSES:
            remaining = wait_s - (time.monotonic() - started)
            waiter = asyncio.create_task(_until_terminal(str(document["id"]), remaining))
            gone = asyncio.create_task(_disconnected(receive))
            await asyncio.wait({waiter, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (waiter, gone):
                task.cancel()
            if gone.done() and not gone.cancelled():
                return  # the client left: nobody to answer
            reused = document.get("reused")
            terminal = _result(waiter)
            fresh = _terminal_rendering(terminal, reused)
            if fresh is None:  # the wait ran out: the generation as it is now
                fresh = await in_db(_rendered, str(document["id"]), reused)
            if fresh is not None:
                body = json.dumps(fresh, separators=(",", ":")).encode()
        headers = [
            (name, value)
            for name, value in start["headers"]
            if name.lower() not in (b"content-length", b"preference-applied")
        ]
        headers += [
            (b"content-length", str(len(body)).encode()),
            (b"preference-applied", f"wait={wait_s}".encode()),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) and "id" in document else None


async def _disconnected(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
