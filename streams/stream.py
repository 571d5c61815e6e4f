"""One subscriber's stream: history from the table, then the live feed, each event once.

The subscription is registered with the process's feed before the history is read, so
nothing that commits meanwhile falls between the two; the live events that the history
already delivered (or that the client had, at or below its last id) are dropped by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

from generations.events import DEFAULT_LIMIT

from .db import in_db
from .feed import Event, Scope, Subscription, current_feed, read_events


class StreamOverflow(Exception):
    """The client fell too far behind the live feed; it should resume from its last id."""


class EventStream:
    """``async with EventStream(scope, after=..., history=...) as s: async for e in
    s.events(...)``. ``after`` is the client's last event id (``None``: it has seen
    nothing); ``history`` replays the table from ``after`` first (always done when
    ``after`` is given). A live-only stream starts after the newest event the process
    knows of when it subscribes. ``live=False``: the history alone, without the feed."""

    def __init__(
        self, scope: Scope, *, after: int | None = None, history: bool = False, live: bool = True
    ) -> None:
        self.scope = scope
        self.after = after
        self.history = history or after is not None
        self.live = live
        self._subscription = Subscription(scope)

    async def __aenter__(self) -> EventStream:
        if not self.live:
            return self  # history only: the feed is not needed
        feed = current_feed()
        await feed.add(self._subscription)
        if not self.history:
            # Live only: what had committed before the subscription is not for it.
            self.after = feed.newest_id
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live:
            current_feed().remove(self._subscription)

    async def events(self, *, heartbeat_s: float | None = None) -> AsyncIterator[Event | None]:
        """The events in order; ``None`` after ``heartbeat_s`` without one (time for a
        keep-alive). A stream made with ``live=False`` stops after the history. Raises
        ``StreamOverflow``."""
        floor = self.after or 0
        delivered: set[int] = set()
        if self.history:
            cursor = floor
            while True:
                batch = await in_db(read_events, cursor, self.scope, limit=DEFAULT_LIMIT)
                for event in batch:
                    delivered.add(event.id)
                    yield event
                if len(batch) < DEFAULT_LIMIT:
                    break
                cursor = batch[-1].id
        if not self.live:
            return
        queue = self._subscription.queue
        while True:
            if self._subscription.overflowed:
                raise StreamOverflow()
            try:
                async with asyncio.timeout(heartbeat_s):
                    event = await queue.get()
            except TimeoutError:
                yield None
                continue
            if event.id <= floor or event.id in delivered:
                continue
            yield event
