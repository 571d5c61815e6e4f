"""Hand a generation to the workers, after the transaction that created it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import kombu.exceptions
import redis
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.outages import outage_fail_fast, outage_failure, outage_success

from .publishing import task_publish
from .waits import ProcessOutcome, Step

logger = logging.getLogger("genpipe.dispatch")

# The broker unreachable, hung or refusing (Celery re-raises transport errors as kombu's).
BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.RedisError, OSError)


# Tasks by their registered names: services never import the tasks that call them.
PROCESS = "generations.process_generation"
POLL = "generations.poll_generation"
CANCEL = "generations.cancel_provider_job"


def _task(name: str) -> Any:
    return current_app.tasks[name]


def _countdown(scheduled_at: datetime | None, now: datetime) -> float | None:
    if scheduled_at is None or scheduled_at <= now:
        return None
    delay = (scheduled_at - now).total_seconds()
    return min(delay, float(settings.GENERATION_MAX_COUNTDOWN_S))


def _publish(send: Callable[[], object], what: str) -> None:
    """Run one publish; a broker failure is counted (one WARNING per outage), not raised.

    The publish is not retried and the broker connection has short timeouts
    (``BROKER_PUBLISH_TIMEOUT``), so a slow or dead broker costs the caller a bounded wait;
    within a second of a failure the publish is not even tried (the sweeper sends it).
    """
    if outage_fail_fast("broker"):
        logger.debug("not enqueueing %s: the broker failed just now", what)
        return
    try:
        send()
    except BROKER_ERRORS as exc:
        outage_failure("broker", exc)
        logger.debug("could not enqueue %s: %s", what, exc)
        return
    except Exception:
        logger.exception("could not enqueue %s", what)
        return
    outage_success("broker")


def generation_enqueue(
    *, generation_id: str, priority: int, scheduled_at: datetime | None = None
) -> None:
    """Publish ``process_generation`` once the current transaction commits.

    A publish that fails (broker down, slow or hung: it gives up after about
    ``BROKER_PUBLISH_TIMEOUT``, without retrying) is logged once per outage, not raised:
    the row stays ``pending`` and the sweeper re-enqueues it. Redelivery is harmless
    because the task claims the row with a conditional ``pending → processing`` transition.
    """
    process_generation = _task(PROCESS)

    def publish() -> None:
        countdown = _countdown(scheduled_at, timezone.now())
        _publish(
            lambda: task_publish(
                process_generation, args=[generation_id], priority=priority, countdown=countdown
            ),
            f"generation {generation_id}",
        )

    transaction.on_commit(publish)


def generation_follow_up(
    *, generation_id: str, outcome: ProcessOutcome, priority: int | None = None
) -> None:
    """Publish what a processing outcome asks for, after the current transaction commits:
    the next attempt (retry, recovery), a poll of an asynchronous job, or a delayed start.

    The one place where outcomes become Celery messages (tasks and the sweeper use it).
    A failed publish is logged, not raised: the generation's ``deadline_at`` (or, when
    pending, its ``enqueued_at``) lets the sweeper recover it later.
    """
    process_generation, poll_generation = _task(PROCESS), _task(POLL)

    if outcome.delay_s is None:
        return
    countdown = min(outcome.delay_s, float(settings.GENERATION_MAX_COUNTDOWN_S)) or None
    step = Step(outcome.status)
    options: dict[str, object] = {"countdown": countdown}
    if priority is not None:
        options["priority"] = priority

    def send() -> None:
        if step == Step.RETRY and outcome.next_attempt:
            process_generation.apply_async(
                args=[generation_id],
                kwargs={"attempt": outcome.next_attempt},
                retry=False,
                **options,
            )
        elif step in (Step.SUBMITTED, Step.RUNNING) and outcome.next_attempt:
            poll_generation.apply_async(
                args=[generation_id, outcome.next_attempt], retry=False, **options
            )
        elif step == Step.SCHEDULED:
            process_generation.apply_async(args=[generation_id], retry=False, **options)

    def publish() -> None:
        _publish(send, f"the next step of generation {generation_id}")

    transaction.on_commit(publish)


def generation_provider_cancel_enqueue(*, generation_id: str) -> None:
    """After commit, ask a worker to cancel the generation's job at its provider."""
    cancel_provider_job = _task(CANCEL)

    def publish() -> None:
        _publish(
            lambda: cancel_provider_job.apply_async(args=[generation_id], retry=False),
            f"the provider cancel of {generation_id}",
        )

    transaction.on_commit(publish)
