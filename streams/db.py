"""Database access from the event loop, without holding a connection while waiting.

A stream spends nearly all its life waiting; it must not hold a database connection (or
a thread) meanwhile. A subscriber's reads (its history) run through ``in_db``: a thread
of asgiref's pool (not the single thread-sensitive one, so a thousand streams starting at
once do not queue behind each other), the thread's connections closed before it returns.

The feed's reader is the one exception: its reads come in bursts (one per transition),
and opening a connection costs more than the read, so ``ReaderThread`` keeps its one
connection between reads that follow each other closely and closes it once the reader
has been idle for ``GENPIPE_STREAM_DB_KEEP_S`` (one connection per process at most).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")


def _closing(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


async def in_db(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)`` in a pool thread, its database connections closed after."""
    return await sync_to_async(_closing, thread_sensitive=False)(fn, *args, **kwargs)


class ReaderThread:
    """One thread, one connection: the feed reader's database access."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genpipe-feed")
        self.connected = False

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(*args, **kwargs)`` in the reader's thread; the connection stays open.
        A failed call closes it (the next one reconnects)."""
        loop = asyncio.get_running_loop()
        self.connected = True
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(fn, *args, **kwargs)
            )
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the thread's connection (the reader is idle)."""
        if not self.connected:
            return
        self.connected = False
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, connections.close_all)

    def close_soon(self) -> None:
        """Have the thread close its connection after what it is doing, without waiting:
        safe while the reader task is being cancelled, or its event loop closing."""
        self.connected = False
        self._executor.submit(connections.close_all)
