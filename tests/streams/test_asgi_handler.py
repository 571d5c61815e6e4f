"""The ASGI handler (``genpipe_site.asgi.Handler``): a synchronous view runs with the
middleware in their synchronous mode, in one thread per request, and that thread is
reused by the next request; the async views (SSE) keep Django's asynchronous chain."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from asgiref.sync import AsyncToSync
from django.core.signals import request_started
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from genpipe_site.asgi import RequestThreads, django_application
from tests.builders import create_body


def _scope(path: str, key: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Token {key}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


async def _get(path: str, key: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await django_application(_scope(path, key), receive, send)
    return sent


@pytest.fixture(autouse=True)
def request_connections_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the ASGI process runs (``genpipe_site.asgi`` sets ``DB_CONN_MAX_AGE=0``): a
    request's connection is closed when it finishes, not kept by its (reused) thread."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def generation_path(api: Any, no_dispatch: Any) -> str:
    body = create_body(config={"prompt": f"a lighthouse {uuid.uuid4().hex}"})
    response = api.post("/api/v1/generations", body, format="json")
    assert response.status_code == 201
    return f"/api/v1/generations/{response.json()['id']}"


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_view_never_hands_back_to_the_event_loop(generation_path, user, monkeypatch):
    key = Token.objects.create(user=user).key
    handovers: list[object] = []
    original = AsyncToSync.__call__

    def counted(self: AsyncToSync, *args: Any, **kwargs: Any) -> Any:
        handovers.append(self.awaitable)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncToSync, "__call__", counted)
    sent = asyncio.run(_get(generation_path, key))
    connections.close_all()
    assert sent[0]["status"] == 200
    assert b'"status":"pending"' in sent[1]["body"]
    # Django's asynchronous chain went back to the loop at WhiteNoise's middleware.
    assert handovers == []


@pytest.mark.django_db(transaction=True)
def test_one_request_after_another_runs_in_the_same_thread(generation_path, user):
    key = Token.objects.create(user=user).key
    threads: list[threading.Thread] = []

    def started(**kwargs: Any) -> None:
        threads.append(threading.current_thread())  # not the ident: the OS reuses those

    async def two_requests() -> list[int]:
        first = await _get(generation_path, key)
        second = await _get(generation_path, key)
        return [first[0]["status"], second[0]["status"]]

    request_started.connect(started)
    try:
        statuses = asyncio.run(two_requests())
    finally:
        request_started.disconnect(started)
        connections.close_all()
    assert statuses == [200, 200]
    assert len(threads) == 2
    assert threads[0] is threads[1] and threads[0] is not threading.current_thread()


def test_request_threads_beyond_the_idle_ones_kept_are_stopped():
    threads = RequestThreads(keep=1)
    first, second = threads.take(), threads.take()
    assert first is not second
    threads.give_back(first)
    threads.give_back(second)
    assert threads.take() is first  # kept, and lent again
    with pytest.raises(RuntimeError):
        second.submit(int)  # shut down
    first.shutdown()
