"""The Redis broker transport of the workers: kombu's, made to survive a lost connection.

When the connection to Redis drops while a worker holds unacknowledged messages, kombu
works on them through a client of that same, already closed, connection: when it closes
the channel (restoring them) and when a task that was running finishes (acknowledging
it). The ``AttributeError`` it meets (``'NoneType' object has no attribute 'hostname'`` or
``'client'``) is not one of the connection errors Celery recovers from, and the worker
exits ("Unrecoverable error"). Here both give up with a warning instead: the messages stay
in Redis's unacked set and Redis's visibility timeout delivers them again, where the
task's status guard makes that harmless (or they died with a Redis that restarted empty,
and the sweeper recovers their generations). Selected by ``CELERY_BROKER_TRANSPORT`` for
``redis://`` brokers.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger("genpipe.worker")


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except AttributeError as exc:  # the connection is gone already
            self._lost(delivery_tag, exc)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except AttributeError as exc:
            self._lost(delivery_tag, exc)

    def _lost(self, delivery_tag: Any, exc: Exception) -> None:
        self._delivered.pop(delivery_tag, None)
        logger.warning(
            "a message's ack was lost with the broker connection (%s); Redis delivers it "
            "again after the visibility timeout",
            exc,
        )

    def restore_unacked(self, client: Any = None) -> None:
        try:
            super().restore_unacked(client)
        except AttributeError as exc:  # the connection is gone already
            count = len(self._delivered)
            self._delivered.clear()
            logger.warning(
                "could not restore %s unacknowledged message(s) over a lost broker "
                "connection (%s); Redis delivers them again after the visibility timeout",
                count,
                exc,
            )


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel
