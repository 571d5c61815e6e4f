"""Hand a generation to the workers, after the transaction that created it commits."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .waits import ProcessOutcome, Step

logger = logging.getLogger("genpipe.dispatch")


def _countdown(scheduled_at: datetime | None, now: datetime) -> float | None:
    if scheduled_at is None or scheduled_at <= now:
        return None
    delay = (scheduled_at - now).total_seconds()
    return min(delay, float(settings.GENERATION_MAX_COUNTDOWN_S))


def generation_enqueue(
    *, generation_id: str, priority: int, scheduled_at: datetime | None = None
) -> None:
    """Publish ``process_generation`` once the current transaction commits.

    A publish that fails (broker down) is logged, not raised: the row stays ``pending`` and
    the sweeper re-enqueues it. Redelivery is harmless because the task claims the row with
    a conditional ``pending → processing`` transition.
    """
    from ..tasks import process_generation  # tasks import services; resolve at call time

    def publish() -> None:
        countdown = _countdown(scheduled_at, timezone.now())
        try:
            process_generation.apply_async(
                args=[generation_id], priority=priority, countdown=countdown
            )
        except Exception:
            logger.exception("could not enqueue generation %s", generation_id)

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
    from ..tasks import poll_generation, process_generation

    if outcome.delay_s is None:
        return
    countdown = min(outcome.delay_s, float(settings.GENERATION_MAX_COUNTDOWN_S)) or None
    step = Step(outcome.status)
    options: dict[str, object] = {"countdown": countdown}
    if priority is not None:
        options["priority"] = priority

    def publish() -> None:
        try:
            if step == Step.RETRY and outcome.next_attempt:
                process_generation.apply_async(
                    args=[generation_id], kwargs={"attempt": outcome.next_attempt}, **options
                )
            elif step in (Step.SUBMITTED, Step.RUNNING) and outcome.next_attempt:
                poll_generation.apply_async(args=[generation_id, outcome.next_attempt], **options)
            elif step == Step.SCHEDULED:
                process_generation.apply_async(args=[generation_id], **options)
        except Exception:
            logger.exception("could not publish the next step of generation %s", generation_id)

    transaction.on_commit(publish)


def generation_provider_cancel_enqueue(*, generation_id: str) -> None:
    """After commit, ask a worker to cancel the generation's job at its provider."""
    from ..tasks import cancel_provider_job

    def publish() -> None:
        try:
            cancel_provider_job.apply_async(args=[generation_id])
        except Exception:
            logger.exception("could not enqueue the provider cancel of %s", generation_id)

    transaction.on_commit(publish)
