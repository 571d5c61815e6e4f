"""The live feed of one web process: one reader, one Redis subscriber, fan-out in memory.

Per event loop (an ASGI process has one) a ``Feed`` keeps the subscriptions of every open
stream. Its reader task waits for a wake-up (Redis pub/sub, ``streams.wakeup``) or, without
Redis, for the poll interval, then reads the rows after the last id it saw ONCE and hands
each new event to the matching subscriptions' queues. However many clients listen, a
transition costs one query per process, not one per client.

Ids are taken when a transaction inserts its row, not when it commits: a row with a lower
id can become visible after a higher one. The reader remembers the ids it skipped over
("gaps") for ``GENPIPE_STREAM_GAP_S`` and asks for them again on every read, so such a
row is still delivered (late, but once). The reader stops ``GENPIPE_STREAM_LINGER_S``
after the last subscription left (reading on meanwhile, so it stays current), and starts
again, a little in the past, with the next one: a client that waits on one generation
after another (``Prefer: wait``) finds the reader, its connection and its Redis
subscription ready instead of paying for a restart, and its look-back read, each time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import DatabaseError

from core.outages import outage_failure, outage_success
from generations.events import DEFAULT_LIMIT, events_after, events_latest_id

from .db import ReaderThread
from .wakeup import wakeup_channel

logger = logging.getLogger("genpipe.streams")
# A (re)started reader looks this many ids back, so a row committed just before it
# started, with an id below the newest, is not lost; subscribers drop what they had.
LOOKBACK_IDS = 200
MAX_GAPS = 2000


@dataclass(frozen=True)
class Event:
    """One event object, rendered to JSON once for every subscriber."""

    id: int
    type: str
    generation_id: str
    workspace_id: int
    data: dict[str, Any]
    json: str
    sse: bytes  # the SSE message, encoded once for every stream


@dataclass(frozen=True)
class Scope:
    """Which events a subscription wants: one generation, or some workspaces (``None``:
    every workspace, the staff panel), optionally only some event types."""

    generation_id: str | None = None
    workspace_ids: frozenset[int] | None = None
    types: frozenset[str] | None = None

    def matches(self, event: Event) -> bool:
        if self.generation_id is not None and event.generation_id != self.generation_id:
            return False
        if self.workspace_ids is not None and event.workspace_id not in self.workspace_ids:
            return False
        return self.types is None or event.type in self.types


class Subscription:
    """A stream's inbox. A client too slow to keep ``GENPIPE_STREAM_QUEUE_MAX`` events
    behind is marked overflowed; its stream ends and the client resumes from its last id."""

    __slots__ = ("__weakref__", "overflowed", "queue", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.queue: asyncio.Queue[Event] = asyncio.Queue(int(settings.GENPIPE_STREAM_QUEUE_MAX))
        self.overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


def _as_event(data: dict[str, Any]) -> Event:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Event(
        id=int(data["event_id"]),
        type=str(data["type"]),
        generation_id=str(data["generation_id"]),
        workspace_id=int(data["workspace_id"]),
        data=data,
        json=text,
        sse=f"id: {data['event_id']}\ndata: {text}\n\n".encode(),
    )


def read_events(
    last_id: int | None,
    scope: Scope,
    *,
    also_ids: Collection[int] = (),
    limit: int = DEFAULT_LIMIT,
) -> list[Event]:
    """``events_after`` for a scope, rendered (runs in a database thread)."""
    rows = events_after(
        last_id,
        generation_id=scope.generation_id,
        workspace_ids=scope.workspace_ids,
        types=scope.types,
        also_ids=also_ids,
        limit=limit,
    )
    return [_as_event(row) for row in rows]


class Feed:
    """The subscriptions of one event loop and the reader that feeds them."""

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        self.reads = 0
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        self._watermark = 0
        self._gaps: dict[int, float] = {}
        # The newest id known to have committed: where a live-only subscription starts.
        self.newest_id = 0
        self._db = ReaderThread()
        self._left_at: float | None = None  # loop time the last subscription left

    async def add(self, subscription: Subscription) -> None:
        """Register a subscription; returns once the reader runs (live from then on)."""
        self.subscriptions.add(subscription)
        self._left_at = None
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="genpipe-event-feed")
        await self._ready.wait()

    def remove(self, subscription: Subscription) -> None:
        """Unregister; the last one out starts the linger. The reader is not woken: a
        read now would be for nobody (it reads at the next wake-up or poll, as ever)."""
        self.subscriptions.discard(subscription)
        if not self.subscriptions:
            self._left_at = asyncio.get_running_loop().time()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        listener: asyncio.Task[None] | None = None
        try:
            latest = await self._db_retrying(events_latest_id)
            self._watermark, self._gaps = max(0, latest - LOOKBACK_IDS), {}
            self.newest_id = latest
            self._ready.set()
            if settings.REDIS_URL:
                listener = asyncio.create_task(self._listen(settings.REDIS_URL))
            while self._wanted():
                self._wake.clear()
                try:
                    await self._read()
                except Exception:  # a bug must not leave the subscriptions without a reader
                    logger.exception("the event feed's read failed")
                    await asyncio.sleep(float(settings.GENPIPE_STREAM_POLL_S))
                if not self._wake.is_set() and self._wanted():
                    await self._idle()
        finally:
            if listener is not None:
                listener.cancel()
            self._listening = False
            self._ready.set()  # never leave a subscriber waiting on a reader that died
            self._db.close_soon()

    def _wanted(self) -> bool:
        """Someone subscribes, or the last one left less than ``GENPIPE_STREAM_LINGER_S``
        ago."""
        if self.subscriptions:
            self._left_at = None
            return True
        now = asyncio.get_running_loop().time()
        if self._left_at is None:
            self._left_at = now
        return now - self._left_at < float(settings.GENPIPE_STREAM_LINGER_S)

    async def _idle(self) -> None:
        """Wait for a wake-up or the poll interval (at most until the linger ends); close
        the reader's connection when nothing came within ``GENPIPE_STREAM_DB_KEEP_S``."""
        loop = asyncio.get_running_loop()
        interval = float(
            settings.GENPIPE_STREAM_SAFETY_POLL_S
            if self._listening
            else settings.GENPIPE_STREAM_POLL_S
        )
        if not self.subscriptions and self._left_at is not None:
            linger_end = self._left_at + float(settings.GENPIPE_STREAM_LINGER_S)
            interval = max(0.0, min(interval, linger_end - loop.time()))
        deadline = loop.time() + interval
        keep = float(settings.GENPIPE_STREAM_DB_KEEP_S)
        if self._db.connected and keep < interval:
            if await self._wait_wake(keep):
                return
            await self._db.close()
        await self._wait_wake(max(0.0, deadline - loop.time()))

    async def _wait_wake(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                await self._wake.wait()
        except TimeoutError:
            return False
        return True

    async def _db_retrying(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                result = await self._db.run(fn, *args, **kwargs)
            except DatabaseError as exc:
                outage_failure("database", exc.__cause__ or exc)
                await asyncio.sleep(float(settings.GENPIPE_STREAM_POLL_S))
                if not self.subscriptions:
                    return 0
                continue
            outage_success("database")
            return result

    async def _read(self) -> None:
        """Read what is new once and fan it out; pages on while a full page came back.
        Also without subscriptions (lingering): the watermark stays current."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            ttl = float(settings.GENPIPE_STREAM_GAP_S)
            self._gaps = {i: t for i, t in self._gaps.items() if now - t < ttl}
            try:
                events: list[Event] = await self._db.run(
                    read_events, self._watermark, Scope(), also_ids=tuple(self._gaps)
                )
            except DatabaseError as exc:
                outage_failure("database", exc.__cause__ or exc)
                return
            self.reads += 1
            self._advance(events, now)
            for event in events:
                for subscription in tuple(self.subscriptions):
                    if subscription.scope.matches(event):
                        subscription.offer(event)
            if len(events) < DEFAULT_LIMIT:
                return

    def _advance(self, events: list[Event], now: float) -> None:
        seen = {event.id for event in events}
        for event_id in seen:
            self._gaps.pop(event_id, None)
        top = max(seen, default=0)
        if top > self._watermark:
            missing = (i for i in range(self._watermark + 1, top) if i not in seen)
            for event_id in missing:
                if len(self._gaps) >= MAX_GAPS:
                    break
                self._gaps[event_id] = now
            self._watermark = top
        self.newest_id = max(self.newest_id, top)

    async def _listen(self, url: str) -> None:
        """Wake the reader on every message; after each (re)subscribe too, to catch up on
        what was published while the connection was down."""
        client = aioredis.Redis.from_url(url)
        try:
            while True:
                pubsub = client.pubsub()
                try:
                    await pubsub.subscribe(wakeup_channel())
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":
                            self._listening = True
                            outage_success("redis")
                        self._wake.set()
                except (redis.RedisError, OSError) as exc:
                    self._listening = False
                    outage_failure("redis", exc)
                    await asyncio.sleep(1.0)
                finally:
                    self._listening = False
                    await pubsub.aclose()
        finally:
            await client.aclose()


_FEEDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Feed] = weakref.WeakKeyDictionary()


def current_feed() -> Feed:
    """The feed of the running event loop (one per ASGI process), made on first use."""
    loop = asyncio.get_running_loop()
    feed = _FEEDS.get(loop)
    if feed is None:
        feed = _FEEDS[loop] = Feed()
    return feed
