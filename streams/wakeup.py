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
from urllib.parse import urlsplit

import redis
from django.conf import settings

from core.outages import redis_client
from generations.hooks import (
    StatusChange,
    TransitionRound,
    cache_redis_location,
    round_published,
)

logger = logging.getLogger("genpipe.streams")


def wakeup_channel() -> str:
    """The pub/sub channel of this deployment (``GENPIPE_STREAM_CHANNEL``)."""
    return str(settings.GENPIPE_STREAM_CHANNEL)


@cache
def _client(url: str, timeout_s: float) -> redis.Redis:
    return redis_client(url, timeout=timeout_s)


def transition_wakeup(change: StatusChange) -> None:
    """Transition listener (``GENPIPE_TRANSITION_LISTENERS``): publish the event id.

    Runs after commit, in the process that made the transition (web or worker). Sent in
    the transition's round (``generations.hooks.TransitionRound``, with the other
    listeners' reads) when the cache lives on the same Redis, else in one round trip of
    its own, bounded by ``REDIS_SOCKET_TIMEOUT``, never retried; a Redis error is
    reported once per outage (by the connection) and swallowed: the readers' safety poll
    finds the event.
    """
    url = settings.REDIS_URL
    if not url or round_published(wakeup_channel(), str(change.event_id)):
        return
    with contextlib.suppress(redis.RedisError):
        _client(url, float(settings.REDIS_SOCKET_TIMEOUT)).publish(
            wakeup_channel(), str(change.event_id)
        )


def _server(url: str) -> tuple[str, str, str]:
    """A Redis URL without its database number (pub/sub ignores databases)."""
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.query


@cache
def _same_server(location: str, redis_url: str) -> bool:
    return bool(redis_url) and _server(location) == _server(redis_url)


def _same_redis_as_cache() -> bool:
    """Whether the cache's Redis is the wake-ups' (any database: pub/sub ignores them)."""
    location = cache_redis_location()
    return location is not None and _same_server(location, settings.REDIS_URL)


def _wakeup_prepare(change: StatusChange, batch: TransitionRound) -> None:
    """The publish goes in the transition's round when the cache's Redis is this one."""
    if _same_redis_as_cache():
        batch.publish(wakeup_channel(), str(change.event_id))


transition_wakeup.prepare = _wakeup_prepare  # type: ignore[attr-defined]
