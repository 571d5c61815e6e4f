"""ASGI entry point (``uvicorn genpipe_site.asgi:application``, or gunicorn with
``uvicorn_worker.UvicornWorker``): everything the WSGI application serves (the API, the
admin, static files through WhiteNoise) plus the SSE streams, ``Prefer: wait`` and the
WebSocket at ``/ws/v1/generations``.

Each request's synchronous code runs in a thread to itself (Django's thread-sensitive
mode), so the process closes its connections after each request (``DB_CONN_MAX_AGE=0``
unless set) and, on PostgreSQL, borrows them from a pool of the process
(``DATABASE_POOL=1`` unless set): a request does not pay for a new connection, nor a
``Prefer: wait`` for three, and idle threads hold none.

``Handler`` is Django's ASGI handler with two changes for the synchronous views (all but
the SSE streams): the request's middleware and view run in their synchronous mode, in one
hop to a thread, as under WSGI; and that thread is one of the process's, reused from one
request to the next, rather than started for the request and joined after it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("DATABASE_POOL", "1")

import django
from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

# Idle request threads a process keeps; more run while more requests do.
IDLE_REQUEST_THREADS = 32


class RequestThreads:
    """Single-thread executors for the requests' synchronous code: each request has one
    to itself (Django's thread-sensitive mode: its middleware, view, signals and database
    connection in one thread), taken from the idle ones and given back after."""

    def __init__(self, keep: int = IDLE_REQUEST_THREADS) -> None:
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []

    def take(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="genpipe-request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        # The request's thread-sensitive calls have all returned (asgiref waits for the
        # thread even when the request is cancelled), so the thread is idle.
        if len(self._idle) < self.keep:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)


def _async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


class Handler(ASGIHandler):
    """``django.core.handlers.asgi.ASGIHandler`` for this application (see the module).

    Django builds one middleware chain in its asynchronous mode for ASGI: a middleware
    that is synchronous only (WhiteNoise's, ours) then hands over to the event loop and
    each of the later ones back to the thread, twice per request each. A synchronous
    view here goes through a second chain, the same middleware loaded in their
    synchronous mode (what the WSGI handler runs), called in the request's thread once.
    Async views (the SSE streams) keep Django's asynchronous chain.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)
        self.threads = RequestThreads()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if _async_view(request.path_info):
            return await super().get_response_async(request)
        response: HttpResponseBase = await sync_to_async(
            self._sync.get_response, thread_sensitive=True
        )(request)
        return response


django.setup(set_prefix=False)
django_application = Handler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from streams.prefer import PreferWait  # noqa: E402
from streams.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": PreferWait(django_application),
        "websocket": websocket_application(),
    }
)
