"""Celery tasks: primitive ids in, one service call, retry policy declared here."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .services.idempotency import idempotency_keys_purge
from .services.processing import (
    ProcessOutcome,
    generation_poll,
    generation_process,
    generation_provider_cancel,
)
from .services.sweeper import generations_sweep


def _follow_up(generation_id: str, outcome: ProcessOutcome, *, eager: bool) -> None:
    """Schedule what the outcome asks for: the next attempt, a poll, or a delayed start."""
    if outcome.delay_s is None:
        return
    countdown = min(outcome.delay_s, float(settings.GENERATION_MAX_COUNTDOWN_S))
    if outcome.status == "retry" and outcome.next_attempt:
        process_generation.apply_async(
            args=[generation_id], kwargs={"attempt": outcome.next_attempt}, countdown=countdown
        )
    elif outcome.status in ("submitted", "running") and outcome.next_attempt:
        if eager:  # tests: poll inline, without waiting
            countdown = 0
        poll_generation.apply_async(args=[generation_id, outcome.next_attempt], countdown=countdown)
    elif outcome.status == "scheduled" and not eager:
        # Eager mode (tests) cannot wait: a scheduled generation stays pending there.
        process_generation.apply_async(args=[generation_id], countdown=countdown)


@shared_task(
    name="generations.process_generation", bind=True, acks_late=True, reject_on_worker_lost=True
)
def process_generation(self, generation_id: str, attempt: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Run one attempt of a generation; a duplicate delivery finds it claimed and exits.

    Retries are this same task re-scheduled with ``attempt + 1`` and a backoff countdown
    (Celery is the only retry layer); asynchronous providers hand over to ``poll_generation``.
    """
    outcome = generation_process(generation_id=generation_id, attempt=attempt)
    _follow_up(generation_id, outcome, eager=bool(self.request.is_eager))
    return outcome.status


@shared_task(
    name="generations.poll_generation", bind=True, acks_late=True, reject_on_worker_lost=True
)
def poll_generation(self, generation_id: str, attempt: int) -> str:  # type: ignore[no-untyped-def]
    """Check an asynchronous provider job once; re-schedules itself while it runs."""
    outcome = generation_poll(generation_id=generation_id, attempt=attempt)
    _follow_up(generation_id, outcome, eager=bool(self.request.is_eager))
    return outcome.status


@shared_task(name="generations.cancel_provider_job", acks_late=True, ignore_result=True)
def cancel_provider_job(generation_id: str) -> bool:
    """Best-effort cancel at the provider after a generation was cancelled."""
    return generation_provider_cancel(generation_id=generation_id)


@shared_task(name="generations.sweep", ignore_result=True, soft_time_limit=45, time_limit=55)
def sweep_generations() -> dict[str, int]:
    """Re-enqueue stale pending generations and fail lost processing ones (beat, every 60 s).

    Safe to overlap with another sweep or with workers: every write is conditional. The
    beat entry expires unstarted runs, so an outage does not leave a queue of sweeps.
    """
    result = generations_sweep(now=timezone.now())
    return {
        "requeued": len(result.requeued),
        "failed": len(result.failed),
        "lost_races": result.lost_races,
    }


@shared_task(name="generations.purge_idempotency_keys", ignore_result=True, time_limit=300)
def purge_idempotency_keys() -> int:
    """Delete ``Idempotency-Key`` records past their 24 hours (beat, every hour)."""
    return idempotency_keys_purge()
