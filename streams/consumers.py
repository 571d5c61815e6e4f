"""WebSocket ``/ws/v1/generations``: subscribe to generations or workspaces, get events.

Client messages: ``{"type": "subscribe" | "unsubscribe", "generation_id" | "workspace_id",
"last_event_id"?}``. The server sends the event objects (the same as SSE and webhooks),
``{"type": "subscribed" | "unsubscribed", ...}`` acknowledgements, and
``{"type": "error", "error": {"code", "message"}}`` for a bad message. A generation
subscription replays its history and ends after the terminal event; a workspace
subscription is live (or resumes after ``last_event_id``) and stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from core.errors import ApiError
from generations.events import TERMINAL_EVENT_TYPES

from .access import Caller, caller_from_token, generation_scope, last_event_id, workspace_scope
from .db import in_db
from .stream import EventStream, StreamOverflow

logger = logging.getLogger("genpipe.streams")
SubscriptionKey = tuple[str, str]


class TokenAuthMiddleware:
    """Channels middleware: ``scope["caller"]`` from ``Authorization: Token <key>`` (or
    ``Bearer``), else from ``?token=`` for clients that cannot set headers."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = _token(scope)
        caller = await in_db(caller_from_token, key) if key else None
        return await self.inner({**scope, "caller": caller}, receive, send)


def _token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
                return parts[1]
            return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


class BadMessage(ApiError):
    code = "invalid_message"


def _error(code: str, message: str, **extra: Any) -> str:
    return json.dumps({"type": "error", "error": {"code": code, "message": message}, **extra})


class GenerationEventsConsumer(AsyncWebsocketConsumer):
    caller: Caller
    subscriptions: dict[SubscriptionKey, asyncio.Task[None]]

    async def connect(self) -> None:
        caller = self.scope.get("caller")
        if caller is None:
            await self.close(code=4401)  # before accept: the handshake gets a 403
            return
        self.caller = caller
        self.subscriptions = {}
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for task in list(getattr(self, "subscriptions", {}).values()):
            task.cancel()
        for task in list(getattr(self, "subscriptions", {}).values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data if text_data is not None else (bytes_data or b""))
        except (ValueError, UnicodeDecodeError):
            await self.send(_error("invalid_json", "The message is not valid JSON."))
            return
        try:
            await self._handle(message)
        except ApiError as exc:
            await self.send(_error(exc.code, exc.message))

    async def _handle(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise BadMessage("A message is a JSON object.")
        kind = message.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            raise ApiError(
                f"Unknown message type {kind!r}: subscribe or unsubscribe.", code="unknown_type"
            )
        key = _key(message)
        if kind == "unsubscribe":
            task = self.subscriptions.pop(key, None)
            if task is not None:
                task.cancel()
            await self.send(json.dumps({"type": "unsubscribed", key[0]: _plain(key)}))
            return
        if key in self.subscriptions:
            raise ApiError("Already subscribed.", code="already_subscribed")
        if len(self.subscriptions) >= int(settings.GENPIPE_WS_MAX_SUBSCRIPTIONS):
            raise ApiError("Too many subscriptions on this connection.", code="too_many")
        after = last_event_id(_text(message.get("last_event_id")))
        if key[0] == "generation_id":
            scope, terminal = await in_db(generation_scope, self.caller, key[1])
            stream = EventStream(scope, after=after, history=True, live=not terminal)
        else:
            scope = await in_db(workspace_scope, self.caller, key[1], None)
            stream = EventStream(scope, after=after)
        started = asyncio.Event()
        self.subscriptions[key] = asyncio.create_task(self._pump(key, stream, started))
        await started.wait()

    async def _pump(
        self, key: SubscriptionKey, stream: EventStream, started: asyncio.Event
    ) -> None:
        per_generation = key[0] == "generation_id"
        try:
            async with stream:
                await self.send(json.dumps({"type": "subscribed", key[0]: _plain(key)}))
                started.set()
                async for event in stream.events():
                    assert event is not None  # no heartbeat asked for
                    await self.send(event.json)
                    if per_generation and event.type in TERMINAL_EVENT_TYPES:
                        break
        except StreamOverflow:
            await self.send(
                _error(
                    "subscription_overflow",
                    "Too far behind; subscribe again with last_event_id.",
                    **{key[0]: _plain(key)},
                )
            )
        except DatabaseError:
            logger.warning("a WebSocket subscription lost the database")
            await self.send(_error("database_unavailable", "Subscribe again shortly."))
        except Exception as exc:  # the client left while an event was being sent
            logger.info("a WebSocket subscription ended: %s", type(exc).__name__)
        finally:
            started.set()
            if self.subscriptions.get(key) is asyncio.current_task():
                del self.subscriptions[key]


def _key(message: dict[str, Any]) -> SubscriptionKey:
    generation_id, workspace_id = message.get("generation_id"), message.get("workspace_id")
    if (generation_id is None) == (workspace_id is None):
        raise BadMessage("Name either generation_id or workspace_id.")
    if generation_id is not None:
        text = _text(generation_id) or ""
        try:
            return ("generation_id", str(uuid.UUID(text)))
        except ValueError as exc:
            raise ApiError("Generation not found.", code="generation_not_found") from exc
    workspace = _text(workspace_id)
    if not workspace:
        raise BadMessage("workspace_id must be a workspace id or slug.")
    return ("workspace_id", workspace)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadMessage("Ids are strings or integers.")
    return str(value)


def _plain(key: SubscriptionKey) -> str | int:
    value = key[1]
    return int(value) if key[0] == "workspace_id" and value.isdigit() else value
