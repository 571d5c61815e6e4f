"""SSE over real HTTP: a uvicorn process, a Celery worker, PostgreSQL and Redis; the client
parses the event stream itself."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from django.test import Client

from tests.builders import create_body
from tests.streams.conftest import auth
from tests.streams.servers import SseReader

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
LIFECYCLE = ["generation.pending", "generation.processing", "generation.completed"]


def create(server, token: str, **overrides) -> dict:
    response = httpx.post(
        f"{server.url}/api/v1/generations",
        json=create_body(config={"prompt": f"a lighthouse {uuid.uuid4().hex}"}, **overrides),
        headers=auth(token),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_workspace_stream_sees_every_transition_of_a_worker_processed_generation(server, token):
    with httpx.stream(
        "GET", f"{server.url}/api/v1/generations/events", headers=auth(token), timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = SseReader(response)
        assert stream.next().comment == "heartbeat"  # the stream is live: subscribed
        generation = create(server, token)
        events = stream.events(count=3)
    assert [e["type"] for e in events] == LIFECYCLE
    assert {e["generation_id"] for e in events} == {generation["id"]}
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert events[-1]["generation"]["status"] == "completed"
    assert events[0]["from_status"] is None and events[1]["from_status"] == "pending"


def test_the_generation_stream_replays_history_then_closes_after_the_terminal_event(server, token):
    generation = create(server, token)
    url = f"{server.url}/api/v1/generations/{generation['id']}/events"
    with httpx.stream("GET", url, headers=auth(token), timeout=30) as response:
        events = SseReader(response).events()  # returns only because the server ends the stream
    assert [e["type"] for e in events] == LIFECYCLE
    # Resuming after the terminal event: nothing left, the stream ends at once.
    last = str(events[-1]["event_id"])
    with httpx.stream("GET", url, headers={**auth(token), "Last-Event-ID": last}) as response:
        assert SseReader(response).events() == []


def test_a_forced_disconnect_and_resume_loses_and_repeats_nothing(server, token, sandbox):
    sandbox.settings = {"latency_ms": 1500, "failure_rate": 0.0}
    sandbox.save()
    generation = create(server, token)
    url = f"{server.url}/api/v1/generations/{generation['id']}/events"
    with httpx.stream("GET", url, headers=auth(token), timeout=30) as response:
        first = SseReader(response).events(count=1)
    # The connection is gone (closed mid-stream); resume with the query parameter form.
    resumed_url = f"{url}?last_event_id={first[0]['event_id']}"
    with httpx.stream("GET", resumed_url, headers=auth(token), timeout=30) as response:
        rest = SseReader(response).events()
    assert [e["type"] for e in first + rest] == LIFECYCLE
    assert len({e["event_id"] for e in first + rest}) == 3


def test_another_workspace_gets_a_404_and_its_feed_sees_nothing(server, token, other_token):
    with httpx.stream(
        "GET", f"{server.url}/api/v1/generations/events", headers=auth(other_token), timeout=30
    ) as theirs:
        their_stream = SseReader(theirs)
        assert their_stream.next().comment == "heartbeat"
        generation = create(server, token)
        url = f"{server.url}/api/v1/generations/{generation['id']}/events"
        with httpx.stream("GET", url, headers=auth(token), timeout=30) as mine:
            assert [e["type"] for e in SseReader(mine).events()] == LIFECYCLE
        # Fanned out in the same pass: had theirs matched, it would be queued by now.
        after = [their_stream.next() for _ in range(2)]
        assert all(m.data is None for m in after)
    refused = httpx.get(url, headers=auth(other_token), timeout=10)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "generation_not_found"


def test_filters_limit_the_workspace_stream_to_the_types_asked(server, token, workspace):
    url = f"{server.url}/api/v1/generations/events?type=generation.completed&workspace=studio"
    with httpx.stream("GET", url, headers=auth(token), timeout=30) as response:
        stream = SseReader(response)
        assert stream.next().comment == "heartbeat"
        generation = create(server, token)
        (event,) = stream.events(count=1)
    assert (event["type"], event["generation_id"]) == ("generation.completed", generation["id"])
    assert event["workspace_id"] == workspace.id


def test_the_session_of_a_signed_in_user_authenticates_a_stream(server, token, user):
    generation = create(server, token)
    client = Client()
    client.force_login(user)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    url = f"{server.url}/api/v1/generations/{generation['id']}/events"
    with httpx.stream("GET", url, cookies=cookies, timeout=30) as response:
        assert response.status_code == 200
        assert [e["type"] for e in SseReader(response).events()] == LIFECYCLE


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/api/v1/generations/events", {}, 401, "not_authenticated"),
        (
            "/api/v1/generations/events",
            {"Authorization": "Token nope"},
            401,
            "authentication_failed",
        ),
        ("/api/v1/generations/events?type=generation.exploded", None, 400, "invalid_event_type"),
        ("/api/v1/generations/events?workspace=elsewhere", None, 404, "workspace_not_found"),
        ("/api/v1/generations/events", {"Last-Event-ID": "-3"}, 400, "invalid_last_event_id"),
        ("/api/v1/generations/events?last_event_id=1e3", None, 400, "invalid_last_event_id"),
    ],
)
def test_bad_stream_requests_get_the_error_envelope(server, token, path, headers, status, code):
    sent = (
        auth(token)
        if headers is None
        else ({**auth(token), **headers} if headers.get("Last-Event-ID") else headers)
    )
    response = httpx.get(f"{server.url}{path}", headers=sent, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


def test_a_client_that_leaves_ends_its_stream_and_others_go_on(server, token):
    # One client hangs up mid-stream; the process keeps serving the next one.
    leaving = httpx.Client(timeout=30)
    with leaving.stream(
        "GET", f"{server.url}/api/v1/generations/events", headers=auth(token)
    ) as response:
        assert SseReader(response).next().comment == "heartbeat"
    leaving.close()
    done = threading.Event()
    with httpx.stream(
        "GET", f"{server.url}/api/v1/generations/events", headers=auth(token), timeout=30
    ) as response:
        stream = SseReader(response)
        assert stream.next().comment == "heartbeat"
        create(server, token)
        assert [e["type"] for e in stream.events(count=3)] == LIFECYCLE
        done.set()
    assert done.is_set()
