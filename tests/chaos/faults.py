"""Fault actions against a running :class:`~tests.chaos.stack.Stack`."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from .stack import Stack, wait_until


def worker_pool_child_kill(stack: Stack) -> list[int]:
    """SIGKILL the worker's prefork children (the parent survives and forks new ones)."""
    children = stack.worker_pool_children()
    assert children, "the worker has no pool children"
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return children


def worker_kill(stack: Stack) -> None:
    """SIGKILL the worker's whole process group: parent and pool children at once."""
    stack.worker.kill()


def redis_kill(stack: Stack) -> None:
    stack.redis.process.kill()


def redis_start(stack: Stack) -> None:
    """Start Redis again on the same port (empty: it persists nothing)."""
    stack.redis.start()


@contextlib.contextmanager
def redis_hung(stack: Stack) -> Iterator[None]:
    """Redis alive (its port accepts connections) but not answering: SIGSTOP, then SIGCONT."""
    stack.redis.process.signal_group(signal.SIGSTOP)
    try:
        yield
    finally:
        stack.redis.process.signal_group(signal.SIGCONT)


def postgres_stop(stack: Stack) -> None:
    stack.postgres.stop("fast")


def postgres_start(stack: Stack) -> None:
    stack.postgres.start()


def rows_processing(stack: Stack, provider_id: str, at_least: int, timeout: float = 20) -> int:
    """Wait until ``at_least`` generations of the provider are in flight; how many are."""

    def count() -> int:
        rows = stack.postgres.query(
            "select count(*) from generations_generation "
            "where provider_id = %s and status = 'processing'",
            (provider_id,),
        )
        return int(rows[0][0]) if rows[0][0] >= at_least else 0

    return int(wait_until(count, timeout, f"{at_least} generations processing"))


def sleep_past(seconds: float) -> None:
    """Let wall-clock time pass where the product's own rule is time-based (sweeper ages)."""
    time.sleep(seconds)
