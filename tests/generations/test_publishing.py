"""The create path's direct publish writes the message ``apply_async`` writes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import signals
from django.conf import settings

from generations.services import publishing
from generations.services.dispatch import PROCESS
from genpipe_site.celery import app as celery_app

pytestmark = [pytest.mark.redis]

# Differ on every message by construction.
VOLATILE_HEADERS = {"id", "root_id", "eta"}
VOLATILE_PROPERTIES = {"correlation_id", "delivery_tag"}


@pytest.fixture
def broker_queue() -> Iterator[str]:
    """A real (non-eager) Redis broker and a queue of this test's own."""
    if not str(settings.CELERY_BROKER_URL).startswith("redis://"):
        pytest.fail("needs a Redis CELERY_BROKER_URL")
    queue = f"publish-{uuid.uuid4().hex[:8]}"
    conf = celery_app.conf
    eager, default_queue = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager = False
    conf.task_default_queue = queue
    publishing.publisher_reset()
    try:
        yield queue
    finally:
        conf.task_always_eager = eager
        conf.task_default_queue = default_queue
        publishing.publisher_reset()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete(*client.keys(f"{queue}*") or [queue])


def _messages(key: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [json.loads(raw) for raw in reversed(client.lrange(key, 0, -1))]


def _stable(message: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in message["headers"].items() if k not in VOLATILE_HEADERS}
    properties = {k: v for k, v in message["properties"].items() if k not in VOLATILE_PROPERTIES}
    return {**message, "headers": headers, "properties": properties}


@pytest.mark.parametrize(("priority", "countdown"), [(5, None), (0, 30.0), (9, None)])
def test_direct_publish_writes_what_apply_async_writes(broker_queue, priority, countdown):
    task = celery_app.tasks[PROCESS]
    generation_id = str(uuid.uuid4())
    task.apply_async(args=[generation_id], priority=priority, countdown=countdown, retry=False)
    publishing.task_publish(task, args=[generation_id], priority=priority, countdown=countdown)
    key = broker_queue if priority < 3 else f"{broker_queue}\x06\x16{(priority // 3) * 3}"
    stock, direct = _messages(key)
    assert _stable(direct) == _stable(stock)
    assert direct["headers"]["id"] == direct["headers"]["root_id"]
    assert direct["headers"]["id"] == direct["properties"]["correlation_id"]
    assert direct["properties"]["delivery_tag"] != stock["properties"]["delivery_tag"]
    assert (direct["headers"]["eta"] is None) == (countdown is None)
    body = json.loads(base64.b64decode(direct["body"]))
    assert body == [
        [generation_id],
        {},
        {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
    ]


def test_publish_signal_receivers_add_headers(broker_queue):
    def add(headers: dict[str, Any] | None = None, **_: Any) -> None:
        assert headers is not None
        headers["x-test"] = "seen"

    signals.before_task_publish.connect(add, weak=False)
    try:
        publishing.task_publish(celery_app.tasks[PROCESS], args=["g"], priority=0)
    finally:
        signals.before_task_publish.disconnect(add)
    (message,) = _messages(broker_queue)
    assert message["headers"]["x-test"] == "seen"


def test_a_standard_consumer_reads_the_direct_message(broker_queue):
    publishing.task_publish(celery_app.tasks[PROCESS], args=["g-1"], priority=0)
    with celery_app.connection_for_read() as connection:
        queue = connection.SimpleQueue(broker_queue, no_ack=True)
        try:
            message = queue.get(timeout=2)
        finally:
            queue.close()
    assert message.headers["task"] == PROCESS
    assert message.decode()[0] == ["g-1"]


def test_eager_mode_and_other_brokers_take_apply_async():
    conf = celery_app.conf
    assert conf.task_always_eager  # the test settings
    assert publishing._direct_for(celery_app) is None


def test_a_filesystem_broker_takes_apply_async(broker_queue, monkeypatch):
    conf = celery_app.conf
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")  # Celery reads it first
    assert conf.broker_url == "filesystem://"
    publishing.publisher_reset()
    assert publishing._direct_for(celery_app) is None
    monkeypatch.undo()
    publishing.publisher_reset()
    assert publishing._direct_for(celery_app) is not None
