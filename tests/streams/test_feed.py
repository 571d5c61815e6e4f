"""The feed inside one process: the wake-up a transition publishes, a row that commits
after a newer one, a client that hangs up, and what WSGI does with ``Prefer: wait``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
import redis
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from generations.models import GenerationEvent, Status
from generations.services.lifecycle import generation_transition
from streams.feed import Scope, current_feed
from streams.stream import EventStream
from streams.wakeup import wakeup_channel
from tests.builders import create_body


def _create(api, prompt: str | None = None) -> str:
    body = create_body(config={"prompt": prompt or f"a lighthouse {uuid.uuid4().hex}"})
    response = api.post("/api/v1/generations", body, format="json")
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_transition_publishes_one_wake_up_after_commit(api, no_dispatch, settings):
    # Pub/sub channels are global to the server: one of its own, unheard by other tests.
    settings.GENPIPE_STREAM_CHANNEL = f"genpipe-test:{uuid.uuid4().hex}:events"
    generation_id = _create(api)
    subscriber = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    subscriber.subscribe(wakeup_channel())
    assert subscriber.get_message(timeout=5)["type"] == "subscribe"
    with transaction.atomic():
        generation_transition(generation_id=generation_id, to_status=Status.PROCESSING)
        assert subscriber.get_message(timeout=0.3) is None  # nothing before the commit
    message = subscriber.get_message(timeout=5)
    event = GenerationEvent.objects.get(generation_id=generation_id, to_status="processing")
    assert message["type"] == "message" and int(message["data"]) == event.id
    assert subscriber.get_message(timeout=0.3) is None  # one per transition
    subscriber.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_that_commits_after_a_newer_one_is_still_delivered(api, no_dispatch, settings):
    # No Redis: the reader polls, fast.
    settings.REDIS_URL = ""
    settings.GENPIPE_STREAM_POLL_S = 0.05
    early, late = _create(api), _create(api)
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                GenerationEvent.objects.create(
                    generation_id=early,
                    from_status="pending",
                    to_status="processing",
                    at=timezone.now(),
                )
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    def newer_writer() -> None:
        try:
            GenerationEvent.objects.create(
                generation_id=late,
                from_status="pending",
                to_status="processing",
                at=timezone.now(),
            )
        finally:
            connections.close_all()  # a thread of asyncio's pool: close what it opened

    async def scenario() -> list[tuple[str, int]]:
        received = []
        async with EventStream(Scope()) as stream:
            events = stream.events()
            writer = threading.Thread(target=slow_writer)
            writer.start()
            assert await asyncio.to_thread(inserted.wait, 10)
            await asyncio.to_thread(newer_writer)
            event = await asyncio.wait_for(anext(events), 10)
            received.append((event.generation_id, event.id))
            release.set()
            await asyncio.to_thread(writer.join, 10)
            event = await asyncio.wait_for(anext(events), 10)
            received.append((event.generation_id, event.id))
        return received

    (newer, older) = asyncio.run(scenario())
    connections.close_all()
    assert newer[0] == late and older[0] == early
    assert older[1] < newer[1]  # the lower id, seen late, but seen


@pytest.mark.django_db(transaction=True)
def test_a_client_that_hangs_up_leaves_no_subscription_behind(api, user, settings):
    settings.REDIS_URL = ""
    settings.GENPIPE_STREAM_HEARTBEAT_S = 0.05
    from genpipe_site.asgi import application

    key = Token.objects.create(user=user).key
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/generations/events",
        "raw_path": b"/api/v1/generations/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Token {key}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def scenario() -> tuple[list[dict], int, int]:
        sent: list[dict] = []
        during: list[int] = []
        heartbeats = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await heartbeats.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if b"heartbeat" in message.get("body", b""):
                during.append(len(current_feed().subscriptions))
                heartbeats.set()

        await asyncio.wait_for(application(scope, receive, send), 20)
        return sent, during[0], len(current_feed().subscriptions)

    started = time.monotonic()
    sent, during, left = asyncio.run(scenario())
    assert time.monotonic() - started < 20
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert any(b"heartbeat" in m.get("body", b"") for m in sent)
    assert (during, left) == (1, 0)


@pytest.mark.django_db
def test_wsgi_ignores_the_wait_preference(api, no_dispatch):
    started = time.monotonic()
    response = api.post("/api/v1/generations", create_body(), format="json", HTTP_PREFER="wait=5")
    assert time.monotonic() - started < 5
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert "Preference-Applied" not in response.headers


@pytest.mark.django_db(transaction=True)
def test_under_wsgi_a_stream_answers_its_history_and_ends(api, user, no_dispatch):
    generation_id = _create(api)
    generation_transition(generation_id=generation_id, to_status=Status.PROCESSING)
    client = Client()
    client.force_login(user)
    response = client.get(f"/api/v1/generations/{generation_id}/events")
    assert response.status_code == 200
    with pytest.warns(Warning, match="asynchronous iterators"):
        body = b"".join(response).decode()  # as a WSGI server consumes it
    assert body.startswith("retry: 10000\n\n")  # a reconnection is a poll here
    assert body.count("\ndata: ") == 2 and '"to_status":"processing"' in body
    assert not current_feed_used()


def current_feed_used() -> bool:
    """Whether any event loop's feed has a subscription (the WSGI path uses none)."""
    from streams.feed import _FEEDS

    return any(feed.subscriptions for feed in _FEEDS.values())


@pytest.mark.django_db(transaction=True)
def test_the_reader_lingers_between_streams_and_stops_after(api, no_dispatch, settings):
    # No Redis: the reader polls. A client waiting on one generation after another
    # finds the reader still running; once the linger is over it stops.
    settings.REDIS_URL = ""
    settings.GENPIPE_STREAM_POLL_S = 0.05
    settings.GENPIPE_STREAM_LINGER_S = 0.5
    first, second = _create(api), _create(api)

    async def wait_for_processing(generation_id: str) -> None:
        async with EventStream(Scope(generation_id=generation_id)) as stream:
            events = stream.events()
            await asyncio.to_thread(_processing, generation_id)
            event = await asyncio.wait_for(anext(events), 10)
            assert event.generation_id == generation_id

    async def scenario() -> tuple[bool, bool, bool]:
        feed = current_feed()
        await wait_for_processing(first)
        reader = feed._task
        await wait_for_processing(second)
        same_reader = feed._task is reader
        running_after = reader is not None and not reader.done()
        await asyncio.sleep(1.5)  # the linger (0.5 s) and a poll are over
        return same_reader, running_after, reader is not None and reader.done()

    same_reader, running_after, stopped = asyncio.run(scenario())
    connections.close_all()
    assert (same_reader, running_after, stopped) == (True, True, True)


def _processing(generation_id: str) -> None:
    try:
        generation_transition(generation_id=generation_id, to_status=Status.PROCESSING)
    finally:
        connections.close_all()  # a thread of asyncio's pool: close what it opened


@pytest.mark.django_db(transaction=True)
def test_the_last_stream_leaving_does_not_make_the_reader_read(api, no_dispatch, settings):
    # No Redis, a long poll: the reader reads when it starts, then only when polled.
    settings.REDIS_URL = ""
    settings.GENPIPE_STREAM_POLL_S = 5
    generation_id = _create(api)

    async def scenario() -> tuple[int, int, bool]:
        feed = current_feed()
        async with EventStream(Scope(generation_id=generation_id)):
            await asyncio.sleep(0.2)  # the reader's first read is done
            before = feed.reads
        await asyncio.sleep(0.3)
        lingering = feed._task is not None and not feed._task.done()
        return before, feed.reads, lingering

    before, after, lingering = asyncio.run(scenario())
    connections.close_all()
    assert before == 1 and after == before and lingering
