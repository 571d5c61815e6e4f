"""The workers' Redis transport survives a connection lost with messages unacknowledged."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from genpipe_site.broker import QoS, Transport


class _ClosedChannel:
    """What kombu's channel looks like once its connection is gone."""

    @contextlib.contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        raise AttributeError("'NoneType' object has no attribute 'hostname'")
        yield  # pragma: no cover


def test_restoring_over_a_lost_connection_warns_instead_of_killing_the_worker(caplog):
    qos = QoS.__new__(QoS)  # kombu's constructor wants a live channel
    qos.channel = _ClosedChannel()
    qos._delivered = {"tag-1": object(), "tag-2": object()}
    with caplog.at_level(logging.WARNING, logger="genpipe.worker"):
        qos.restore_unacked()
    assert qos._delivered == {}
    assert "could not restore 2 unacknowledged message(s)" in caplog.text


def test_an_ack_over_a_lost_connection_warns_instead_of_killing_the_worker(caplog):
    qos = QoS.__new__(QoS)
    qos.channel = _ClosedChannel()
    qos._delivered = {"tag-1": object()}
    with caplog.at_level(logging.WARNING, logger="genpipe.worker"):
        qos.ack("tag-1")
        qos.reject("tag-2")
    assert qos._delivered == {}
    assert caplog.text.count("ack was lost with the broker connection") == 2


def test_a_redis_broker_uses_the_transport():
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        assert settings.CELERY_BROKER_TRANSPORT == "genpipe_site.broker:Transport"
    assert Transport.Channel.QoS is QoS


@pytest.mark.redis
def test_deliveries_and_acks_share_one_client_per_connection_pool(monkeypatch):
    from kombu import Connection, Producer, Queue
    from kombu.transport import redis as kombu_redis

    made: list[bool] = []
    real = kombu_redis.Channel._create_client

    def counted(self, asynchronous=False):  # type: ignore[no-untyped-def]
        made.append(asynchronous)
        return real(self, asynchronous)

    monkeypatch.setattr(kombu_redis.Channel, "_create_client", counted)
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        channel = connection.default_channel
        queue = Queue(f"genpipe-test-{uuid.uuid4().hex}", channel=channel)
        queue.declare()
        try:
            producer = Producer(channel)
            for n in range(3):
                producer.publish({"n": n}, routing_key=queue.name)
            received = []
            for _ in range(3):
                message = queue.get(no_ack=False)
                assert message is not None
                received.append(message.payload["n"])
                message.ack()
            assert received == [0, 1, 2]
            assert made.count(False) == 1  # one synchronous client for every delivery and ack
            client = channel._create_client()
            assert client.hlen(channel.unacked_key) == 0  # every ack reached Redis
            channel._disconnect_pools()  # as after a fork: a new pool, a new client
            assert channel._create_client() is not client
            assert channel._create_client().connection_pool is channel.pool
        finally:
            queue.delete()
