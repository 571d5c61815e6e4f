"""The wake-up: after a transition commits, one Redis ``PUBLISH`` tells every web process
that the event table has something new.

The message carries no event: readers go back to the table for the rows after the last
id they saw, so a wake-up that is lost (Redis down, a subscriber reconnecting) costs
latency, never an event. Without ``REDIS_URL`` nothing is published and the readers poll.
"""

from __future__ import annotations

import contextlib
import logging
from functools import cache

import redis
from django.conf import settings

from core.outages import redis_client
from generations.hooks import StatusChange

logger = logging.getLogger("genpipe.streams")


def wakeup_channel() -> str:
    """The pub/sub channel of this deployment (``GENPIPE_STREAM_CHANNEL``)."""
    return str(settings.GENPIPE_STREAM_CHANNEL)


@cache
def _client(url: str, timeout_s: float) -> redis.Redis:
    return redis_client(url, timeout=timeout_s)


def transition_wakeup(change: StatusChange) -> None:
    """Transition listener (``GENPIPE_TRANSITION_LISTENERS``): publish the event id.

    Runs after commit, in the process that made the transition (web or worker). One round
    trip at most, bounded by ``REDIS_SOCKET_TIMEOUT``, never retried; a Redis error is
    reported once per outage (by the connection) and swallowed: the readers' safety poll
    finds the event.
    """
    url = settings.REDIS_URL
    if not url:
        return
    with contextlib.suppress(redis.RedisError):
        _client(url, float(settings.REDIS_SOCKET_TIMEOUT)).publish(
            wakeup_channel(), str(change.event_id)
        )
