"""Celery tasks: primitive ids in, one service call, retry policy declared here."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .services.processing import generation_process
from .services.sweeper import generations_sweep


@shared_task(
    name="generations.process_generation", bind=True, acks_late=True, reject_on_worker_lost=True
)
def process_generation(self, generation_id: str) -> str:  # type: ignore[no-untyped-def]
    """Process one generation; safe to deliver twice (the claim is a conditional UPDATE)."""
    outcome = generation_process(generation_id=generation_id)
    # Eager mode (tests) cannot wait: a scheduled generation stays pending there.
    if (
        outcome.status == "scheduled"
        and outcome.retry_in_s is not None
        and not self.request.is_eager
    ):
        countdown = min(outcome.retry_in_s, float(settings.GENERATION_MAX_COUNTDOWN_S))
        self.apply_async(args=[generation_id], countdown=countdown)
    return outcome.status


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
