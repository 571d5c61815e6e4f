"""``Prefer: wait=N`` over real HTTP: uvicorn on the ASGI application, a real worker."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from generations.events import TERMINAL_EVENT_TYPES
from tests.builders import create_body
from tests.streams.conftest import auth

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def body() -> dict:
    return create_body(config={"prompt": f"a lighthouse {uuid.uuid4().hex}"})


def post(server, token: str, prefer: str | None) -> httpx.Response:
    headers = {**auth(token), **({"Prefer": prefer} if prefer else {})}
    return httpx.post(f"{server.url}/api/v1/generations", json=body(), headers=headers, timeout=90)


def test_a_create_that_waits_answers_terminal_before_the_wait_is_over(server, token):
    started = time.monotonic()
    response = post(server, token, "wait=30")
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.headers["preference-applied"] == "wait=30"
    assert response.json()["status"] == "completed"
    assert response.json()["result"]
    assert elapsed < 30
    url = f"{server.url}/api/v1/generations/{response.json()['id']}"
    assert response.json() == httpx.get(url, headers=auth(token), timeout=30).json()
    plain = post(server, token, None)
    assert plain.status_code == 201 and "preference-applied" not in plain.headers


def test_a_wait_that_runs_out_answers_with_the_status_then(server, token, sandbox):
    sandbox.settings = {"latency_ms": 8000, "failure_rate": 0.0}
    sandbox.save()
    started = time.monotonic()
    response = post(server, token, "respond-async, wait=2")
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.headers["preference-applied"] == "wait=2"
    assert response.json()["status"] in {"pending", "processing"}
    assert 2 <= elapsed < 8
    # GET with a wait: answers when the worker completes it, with the fresh rendering.
    url = f"{server.url}/api/v1/generations/{response.json()['id']}"
    waited = httpx.get(url, headers={**auth(token), "Prefer": "wait=30"}, timeout=90)
    assert waited.status_code == 200
    assert waited.headers["preference-applied"] == "wait=30"
    assert waited.json()["status"] == "completed"
    assert int(waited.headers["content-length"]) == len(waited.content)
    # The answer is the generation as GET renders it once completed (the wrapper takes it
    # from the terminal event, not from a second read).
    assert waited.json() == httpx.get(url, headers=auth(token), timeout=30).json()


def test_a_longer_wait_is_lowered_to_60_and_a_malformed_one_ignored(server, token):
    generation = post(server, token, "wait=30").json()
    assert generation["status"] == "completed"
    url = f"{server.url}/api/v1/generations/{generation['id']}"
    long = httpx.get(url, headers={**auth(token), "Prefer": "wait=600"}, timeout=30)
    assert long.headers["preference-applied"] == "wait=60"
    bad = httpx.get(url, headers={**auth(token), "Prefer": "wait=soon"}, timeout=30)
    assert bad.status_code == 200 and "preference-applied" not in bad.headers
    # Errors pass through untouched: another workspace's id is still a 404 envelope.
    missing = httpx.get(
        f"{server.url}/api/v1/generations/{uuid.uuid4()}",
        headers={**auth(token), "Prefer": "wait=5"},
        timeout=30,
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "generation_not_found"
    assert "preference-applied" not in missing.headers


@pytest.mark.django_db(transaction=True)
def test_the_waiter_takes_only_terminal_events_history_included(api, no_dispatch, settings):
    import asyncio

    from django.db import connections

    from generations.models import Status
    from generations.services.lifecycle import generation_transition
    from streams.feed import current_feed
    from streams.prefer import _until_terminal

    settings.REDIS_URL = ""
    settings.GENPIPE_STREAM_POLL_S = 0.05
    response = api.post("/api/v1/generations", body(), format="json")
    generation_id = response.json()["id"]
    generation_transition(generation_id=generation_id, to_status=Status.PROCESSING)

    async def wait(timeout_s: float) -> tuple[object, list]:
        task = asyncio.create_task(_until_terminal(generation_id, timeout_s))
        await asyncio.sleep(0.1)
        scopes = [s.scope for s in current_feed().subscriptions]
        return await task, scopes

    pending, scopes = asyncio.run(wait(0.3))  # processing is in the history: not for it
    generation_transition(generation_id=generation_id, to_status=Status.COMPLETED)
    done, _ = asyncio.run(wait(5))  # completed, committed before the wait: from history
    connections.close_all()
    assert pending is None
    assert [scope.types for scope in scopes] == [frozenset(TERMINAL_EVENT_TYPES)]
    assert done.type == "generation.completed" and done.data["generation"]["status"] == "completed"
