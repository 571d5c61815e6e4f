"""The create path's task publish: one LPUSH of a standard Celery message on Redis.

``Task.apply_async`` builds much per call (routing, options, a producer from the pool, a
kombu message, a Redis client per ``LPUSH`` on kombu's Redis transport): several times the
``LPUSH`` itself. For the one message every create sends, ``task_publish`` writes the same
protocol-2 message kombu's Redis transport writes (headers, properties, ``delivery_tag``,
priority queue, ``eta`` for a countdown) on a Redis client held by the process, with the
publishers' short broker timeouts and no retry, and sends Celery's
``before_task_publish`` / ``after_task_publish`` signals around it (request ids and trace
context travel in the headers as before). A standard worker consumes it like any other.

Anything else takes ``apply_async``: another broker (the embedded filesystem one), eager
mode, ``task-sent`` events, a publish from inside a task (root and parent ids), a task
routed to a named exchange, kombu options that change the key or add expiries.
``tests/generations/test_publishing.py`` pins the message against the one ``apply_async``
writes.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from bisect import bisect
from datetime import timedelta
from typing import Any

import redis
from celery import Celery, signals
from celery.utils.nodenames import anon_nodename
from celery.utils.saferepr import saferepr
from kombu.exceptions import OperationalError
from kombu.transport.redis import PRIORITY_STEPS, Channel
from redis.backoff import NoBackoff
from redis.retry import Retry

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


class _Direct:
    """What a direct publish needs, computed once per process and broker URL."""

    def __init__(self, app: Celery, url: str) -> None:
        self.url = url
        conf = app.conf
        options = conf.broker_transport_options or {}
        self.usable = not (
            not url.startswith(("redis://", "rediss://"))
            or conf.task_send_sent_event
            or conf.task_protocol != 2
            or conf.task_serializer != "json"
            or conf.task_compression
            or options.get("global_keyprefix")
        )
        self.argsrepr_maxsize = app.amqp.argsrepr_maxsize
        self.repr_maxlevels = conf.task_repr_maxlevels
        self.retry_policy = dict(conf.task_publish_retry_policy or {})
        self.client = (
            None
            if not self.usable
            else redis.Redis.from_url(
                url,
                socket_timeout=options.get("socket_timeout"),
                socket_connect_timeout=options.get("socket_connect_timeout"),
                socket_keepalive=bool(options.get("socket_keepalive")),
                retry=Retry(NoBackoff(), 0),  # one try: the sweeper publishes what failed
            )
        )
        self.origin = anon_nodename()
        self.steps = list(options.get("priority_steps") or PRIORITY_STEPS)
        self.routes: dict[tuple[str, str], str | None] = {}

    def queue(self, app: Celery, task: Any) -> str | None:
        """The queue ``apply_async`` would push ``task``'s messages to (``None``: not a
        plain direct route, use ``apply_async``)."""
        wanted = (task.name, str(app.conf.task_default_queue))
        if wanted not in self.routes:
            route = app.amqp.router.route({}, task.name, (), {}, task)
            queue = route.get("queue")
            plain = (
                set(route) == {"queue"}
                and queue is not None
                and queue.exchange is not None
                and queue.exchange.type == "direct"
                and not queue.queue_arguments
                and not queue.expires
            )
            self.routes[wanted] = queue.name if plain else None
        return self.routes[wanted]

    def key(self, queue: str, priority: int) -> str:
        """The list kombu's Redis transport keeps this priority's messages in."""
        clamped = max(min(priority, Channel.max_priority), Channel.min_priority)
        step = self.steps[bisect(self.steps, clamped) - 1]
        return f"{queue}{Channel.sep}{step}" if step else queue


_direct: _Direct | None = None
_lock = threading.Lock()


def _direct_for(app: Celery) -> _Direct | None:
    """The direct publisher, or ``None`` where ``apply_async`` must publish. Celery's
    settings other than eager mode and the broker URL are read once per URL (they are
    fixed at start-up)."""
    global _direct
    conf = app.conf
    if conf.task_always_eager or app.current_worker_task is not None:
        return None
    url = str(conf.broker_url or "")
    found = _direct
    if found is None or found.url != url:
        with _lock:
            found = _direct = _Direct(app, url)
    return found if found.usable else None


def task_message(
    *, task: Any, args: list[Any], priority: int, countdown: float | None, direct: _Direct
) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    """Headers, body and properties of the protocol-2 message ``apply_async`` sends."""
    app = task.app
    task_id = str(uuid.uuid4())
    eta = None
    if countdown:
        eta = (app.now() + timedelta(seconds=countdown)).isoformat()
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task.name,
        "id": task_id,
        "shadow": None,
        "eta": eta,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [task.time_limit, task.soft_time_limit],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": saferepr(args, direct.argsrepr_maxsize, maxlevels=direct.repr_maxlevels),
        "kwargsrepr": "{}",
        "origin": direct.origin,
        "ignore_result": bool(task.ignore_result),
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    properties = {
        "correlation_id": task_id,
        "reply_to": app.thread_oid,
        "delivery_mode": 2,
        "priority": priority,
    }
    return headers, (args, {}, dict(_EMBED)), properties


def task_publish(
    task: Any, *, args: list[Any], priority: int | None = None, countdown: float | None = None
) -> None:
    """Publish ``task(*args)`` (``priority``, ``countdown`` as ``apply_async`` takes them)
    without retrying. A broker failure raises kombu's ``OperationalError`` on either path."""
    app = task.app
    direct = _direct_for(app)
    queue = direct.queue(app, task) if direct is not None else None
    if direct is None or queue is None:
        task.apply_async(args=args, priority=priority, countdown=countdown, retry=False)
        return
    headers, body, properties = task_message(
        task=task, args=args, priority=priority or 0, countdown=countdown, direct=direct
    )
    signals.before_task_publish.send(
        sender=task.name,
        body=body,
        exchange="",
        routing_key=queue,
        declare=[],
        headers=headers,
        properties=properties,
        retry_policy=dict(direct.retry_policy),
    )
    properties.update(
        delivery_info={"exchange": "", "routing_key": queue},
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    message = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": properties,
    }
    try:
        assert direct.client is not None
        direct.client.lpush(
            direct.key(queue, int(properties["priority"] or 0)), json.dumps(message)
        )
    except (redis.RedisError, OSError) as exc:  # as kombu re-raises a transport's errors
        raise OperationalError(str(exc)) from exc
    signals.after_task_publish.send(
        sender=task.name, body=body, headers=headers, exchange="", routing_key=queue
    )


def publisher_reset() -> None:
    """Forget the held client (tests that change the broker settings)."""
    global _direct
    with _lock:
        _direct = None
