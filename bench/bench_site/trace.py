"""Bench-only wall-clock stamps of a generation's trip through Celery (``run.py --trace``).

Connected by the bench settings when ``BENCH_TRACE_REDIS_URL`` is set, in every process of
the stack: the web process stamps the publish of ``process_generation`` (before and after
the broker write, i.e. after the create's commit), the worker's consumer the message's
receipt, the pool child the task's start and end, and two transition listeners (first and
last, ``settings.GENPIPE_TRANSITION_LISTENERS``) the completion's commit and the moment its
wake-up has been published. Each stamp is one ``HSET`` of
``time.time()`` on ``bench:trace:<generation id>`` (a few hundred µs per stamp, which is
why tracing is a run of its own and never the one whose CPU is reported).
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import redis
from celery import signals

TASK = "generations.process_generation"
PREFIX = "bench:trace:"
_url = ""


@cache
def _client() -> Any:
    return redis.Redis.from_url(_url)


def _stamp(generation_id: Any, event: str) -> None:
    if isinstance(generation_id, str):
        _client().hset(f"{PREFIX}{generation_id}", event, repr(time.time()))


def _first_arg(body: Any) -> Any:
    # Task protocol 2: the body is (args, kwargs, embed).
    if isinstance(body, list | tuple) and body and isinstance(body[0], list | tuple) and body[0]:
        return body[0][0]
    return None


def _before_publish(sender: Any = None, body: Any = None, **kwargs: Any) -> None:
    if sender == TASK:
        _stamp(_first_arg(body), "publish")


def _after_publish(sender: Any = None, body: Any = None, **kwargs: Any) -> None:
    if sender == TASK:
        _stamp(_first_arg(body), "published")


def _received(request: Any = None, **kwargs: Any) -> None:
    if request is not None and request.name == TASK and request.args:
        _stamp(request.args[0], "received")


def _prerun(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
    if getattr(sender, "name", None) == TASK and args:
        _stamp(args[0], "task_start")


def _postrun(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
    if getattr(sender, "name", None) == TASK and args:
        _stamp(args[0], "task_end")


def committed(change: Any) -> None:
    """First transition listener: the completion has committed."""
    if change.to_status == "completed":
        _stamp(str(change.generation_id), "committed")


def woken(change: Any) -> None:
    """Last transition listener, after ``streams.wakeup.transition_wakeup``: the web
    processes have been told."""
    if change.to_status == "completed":
        _stamp(str(change.generation_id), "woken")


def connect(url: str) -> None:
    """Stamp on ``url`` (a Redis URL) from now on, in this process."""
    global _url
    _url = url
    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.after_task_publish.connect(_after_publish, weak=False)
    signals.task_received.connect(_received, weak=False)
    signals.task_prerun.connect(_prerun, weak=False)
    signals.task_postrun.connect(_postrun, weak=False)
