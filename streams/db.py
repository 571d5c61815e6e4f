"""Database access from the event loop: in a pool thread, connection closed after use.

A stream spends nearly all its life waiting; it must not hold a database connection (or
a thread) meanwhile. Every read runs through ``in_db``: a thread of asgiref's pool (not
the single thread-sensitive one, so a thousand streams starting at once do not queue
behind each other), and the thread's connections are closed before it returns.
"""

from __future__ import annotations

from collections.abc import Callable
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
