"""The WebSocket over a real connection: the ``websockets`` client against uvicorn, a real
Celery worker processing the generations, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from tests.builders import create_body
from tests.streams.conftest import auth

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
LIFECYCLE = ["generation.pending", "generation.processing", "generation.completed"]
WS = "/ws/v1/generations"


async def create(server, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{server.url}/api/v1/generations",
            json=create_body(config={"prompt": f"a lighthouse {uuid.uuid4().hex}"}),
            headers=auth(token),
        )
    assert response.status_code == 201, response.text
    return response.json()


async def receive(ws, timeout: float = 30) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def events(ws, count: int) -> list[dict[str, Any]]:
    return [await receive(ws) for _ in range(count)]


def test_a_websocket_client_sees_every_transition_in_order_exactly_once(server, token):
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        headers = auth(token)
        async with websockets.connect(server.ws_url + WS, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "subscribe", "workspace_id": "studio"}))
            assert await receive(ws) == {"type": "subscribed", "workspace_id": "studio"}
            generation = await create(server, token)
            live = await events(ws, 3)
            # The generation's own subscription replays its history, then is over.
            await ws.send(json.dumps({"type": "subscribe", "generation_id": generation["id"]}))
            assert (await receive(ws))["type"] == "subscribed"
            replay = await events(ws, 3)
            await ws.send(json.dumps({"type": "unsubscribe", "workspace_id": "studio"}))
            assert await receive(ws) == {"type": "unsubscribed", "workspace_id": "studio"}
            with pytest.raises(TimeoutError):
                await receive(ws, timeout=1.0)  # nothing more: no duplicate arrives
        return live, replay, generation["id"]

    live, replay, generation_id = asyncio.run(scenario())
    for received in (live, replay):
        assert [e["type"] for e in received] == LIFECYCLE
        assert {e["generation_id"] for e in received} == {generation_id}
    assert [e["event_id"] for e in live] == [e["event_id"] for e in replay]
    assert live[-1]["generation"]["status"] == "completed"


def test_a_dropped_websocket_resumes_after_its_last_event_id(server, token, sandbox):
    sandbox.settings = {"latency_ms": 1500, "failure_rate": 0.0}
    sandbox.save()

    async def scenario() -> list[dict[str, Any]]:
        url = f"{server.ws_url}{WS}?token={token}"  # the query form, for header-less clients
        async with websockets.connect(url) as ws:
            generation = await create(server, token)
            await ws.send(json.dumps({"type": "subscribe", "generation_id": generation["id"]}))
            assert (await receive(ws))["type"] == "subscribed"
            first = await events(ws, 1)
            ws.transport.abort()  # the network goes away: no closing handshake
        async with websockets.connect(url) as ws:
            message = {
                "type": "subscribe",
                "generation_id": generation["id"],
                "last_event_id": first[0]["event_id"],
            }
            await ws.send(json.dumps(message))
            assert (await receive(ws))["type"] == "subscribed"
            rest = await events(ws, 2)
            with pytest.raises(TimeoutError):
                await receive(ws, timeout=1.0)
        return first + rest

    received = asyncio.run(scenario())
    assert [e["type"] for e in received] == LIFECYCLE
    assert len({e["event_id"] for e in received}) == 3


def test_another_workspace_gets_only_errors(server, token, other_token):
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        generation = await create(server, token)
        headers = auth(other_token)
        async with websockets.connect(server.ws_url + WS, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "subscribe", "generation_id": generation["id"]}))
            await ws.send(json.dumps({"type": "subscribe", "workspace_id": "studio"}))
            errors = await events(ws, 2)
            await ws.send(json.dumps({"type": "subscribe", "workspace_id": "rival"}))
            assert (await receive(ws))["type"] == "subscribed"
            second = await create(server, token)
            async with websockets.connect(
                server.ws_url + WS, additional_headers=auth(token)
            ) as mine:
                await mine.send(json.dumps({"type": "subscribe", "generation_id": second["id"]}))
                assert [e["type"] for e in await events(mine, 4)][-1] == LIFECYCLE[-1]
            leaked = []
            with contextlib.suppress(TimeoutError):
                leaked.append(await receive(ws, timeout=1.0))
        return errors, leaked

    errors, leaked = asyncio.run(scenario())
    assert [e["type"] for e in errors] == ["error", "error"]
    assert [e["error"]["code"] for e in errors] == ["generation_not_found", "workspace_not_found"]
    assert leaked == []


def test_bad_messages_get_error_messages_and_the_connection_stays(server, token):
    async def scenario() -> list[dict[str, Any]]:
        headers = auth(token)
        async with websockets.connect(server.ws_url + WS, additional_headers=headers) as ws:
            for text in (
                "{not json",
                json.dumps(["subscribe"]),
                json.dumps({"type": "publish", "workspace_id": 1}),
                json.dumps({"type": "subscribe"}),
                json.dumps({"type": "subscribe", "generation_id": "nope"}),
                json.dumps({"type": "subscribe", "workspace_id": "studio", "last_event_id": "x"}),
            ):
                await ws.send(text)
            replies = await events(ws, 6)
            await ws.send(json.dumps({"type": "subscribe", "workspace_id": "studio"}))
            replies.append(await receive(ws))
        return replies

    replies = asyncio.run(scenario())
    assert [r.get("error", {}).get("code") for r in replies[:6]] == [
        "invalid_json",
        "invalid_message",
        "unknown_type",
        "invalid_message",
        "generation_not_found",
        "invalid_last_event_id",
    ]
    assert all(set(r["error"]) == {"code", "message"} for r in replies[:6])
    assert replies[6] == {"type": "subscribed", "workspace_id": "studio"}


def test_a_handshake_without_a_valid_token_is_refused(server):
    async def scenario() -> list[int]:
        statuses = []
        for url in (server.ws_url + WS, f"{server.ws_url}{WS}?token=not-a-token"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(url):
                    pass
            statuses.append(refused.value.response.status_code)
        return statuses

    assert asyncio.run(scenario()) == [403, 403]
