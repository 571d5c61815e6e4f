"""The workers' Redis transport survives a connection lost with messages unacknowledged."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

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
