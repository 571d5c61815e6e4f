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
``redis://`` brokers. Its channel also keeps one synchronous Redis client per connection
pool instead of building one for every acknowledgement.
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
    _sync_client: tuple[Any, Any] | None = None  # (its connection pool, the client)

    def _create_client(self, asynchronous: bool = False) -> Any:
        """kombu's synchronous client (acks, the unacked index, restores), made once per
        connection pool instead of once per call: each message's delivery and ack built a
        ``redis.Redis`` (its table of reply callbacks included), about 4 % of a worker's
        CPU. A client holds no connection of its own (it borrows one from the pool per
        command), so one serves every call; a new pool (after a fork or a reconnect) gets
        a new client."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool, cached = self.pool, self._sync_client
        if cached is None or cached[0] is not pool:
            cached = self._sync_client = (pool, super()._create_client())
        return cached[1]


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel
