"""Celery tasks: primitive ids in, one service call, retry policy declared here."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .compiled import DATABASE_ERRORS
from .services.dispatch import generation_follow_up
from .services.idempotency import idempotency_keys_purge
from .services.jobs import generation_poll, generation_provider_cancel
from .services.processing import generation_process
from .services.sweeper import generations_sweep

# The database went away mid-task: retry the same task (same id, next retry number) until
# it is back; the redelivery recovers the interrupted attempt (services.recovery).
DATABASE_RETRY = {
    "autoretry_for": DATABASE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 30,
}


def _delivery(request: object) -> str:
    return f"{getattr(request, 'id', '') or ''}:{getattr(request, 'retries', 0) or 0}"


@shared_task(
    name="generations.process_generation",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **DATABASE_RETRY,
)
def process_generation(self, generation_id: str, attempt: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Run one attempt of a generation; a duplicate delivery finds it claimed and exits,
    a redelivery after a crash recovers it.

    Retries are this same task re-scheduled with ``attempt + 1`` and a backoff countdown;
    asynchronous providers hand over to ``poll_generation``. A database error retries the
    task itself (``DATABASE_RETRY``).
    """
    outcome = generation_process(
        generation_id=generation_id, attempt=attempt, delivery=_delivery(self.request)
    )
    generation_follow_up(generation_id=generation_id, outcome=outcome)
    return str(outcome.status)


@shared_task(
    name="generations.poll_generation",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **DATABASE_RETRY,
)
def poll_generation(self, generation_id: str, attempt: int) -> str:  # type: ignore[no-untyped-def]
    """Check an asynchronous provider job once; re-schedules itself while it runs."""
    outcome = generation_poll(generation_id=generation_id, attempt=attempt)
    generation_follow_up(generation_id=generation_id, outcome=outcome)
    return str(outcome.status)


@shared_task(name="generations.cancel_provider_job", acks_late=True, ignore_result=True)
def cancel_provider_job(generation_id: str) -> bool:
    """Best-effort cancel at the provider after a generation was cancelled."""
    return generation_provider_cancel(generation_id=generation_id)


@shared_task(name="generations.sweep", ignore_result=True, soft_time_limit=45, time_limit=55)
def sweep_generations() -> dict[str, int]:
    """Re-enqueue stale pending generations and recover lost processing ones (beat, 60 s).

    Safe to overlap with another sweep or with workers: every write is conditional. The
    beat entry expires unstarted runs, so an outage does not leave a queue of sweeps.
    """
    result = generations_sweep(now=timezone.now())
    return {
        "requeued": len(result.requeued),
        "recovered": len(result.recovered),
        "failed": len(result.failed),
        "lost_races": result.lost_races,
    }


@shared_task(name="generations.purge_idempotency_keys", ignore_result=True, time_limit=300)
def purge_idempotency_keys() -> int:
    """Delete ``Idempotency-Key`` records past their 24 hours (beat, every hour)."""
    return idempotency_keys_purge()
