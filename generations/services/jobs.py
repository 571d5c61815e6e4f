"""Asynchronous provider jobs: polled by re-scheduled tasks, cancelled at the provider.

A job submitted by ``processing.generation_process`` is checked by ``generation_poll``
once per poll task; every wait goes through ``services.waits.generation_wait``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from ..models import Generation, Provider, ProviderAttempt, Status
from ..providers.base import ProviderAdapter, ProviderError, ProviderTransientError
from ..providers.registry import adapter_for
from .attempts import attempt_finish
from .processing import _after_failure, _complete, _request, provider_config
from .waits import ProcessOutcome, Step, generation_wait, poll_interval_s

logger = logging.getLogger("genpipe.worker")


def generation_poll(
    *, generation_id: str, attempt: int, now: datetime | None = None
) -> ProcessOutcome:
    """Check an asynchronous provider job once and act on its state.

    Stale polls (the generation moved on, was cancelled, or another attempt started) do
    nothing; a job past its deadline is cancelled at the provider and fails the attempt
    with ``provider_timeout`` (retryable).
    """
    now = now or timezone.now()
    generation = Generation.objects.select_related("provider").filter(id=generation_id).first()
    if generation is None or generation.status != Status.PROCESSING:
        return ProcessOutcome(Step.DISCARDED)
    if generation.attempt_count != attempt:
        return ProcessOutcome(Step.SKIPPED)
    row = (
        ProviderAttempt.objects.filter(generation=generation, attempt_number=attempt)
        .exclude(provider_job_id="")
        .order_by("-id")
        .first()
    )
    if row is None or row.outcome != ProviderAttempt.Outcome.RUNNING:
        return ProcessOutcome(Step.SKIPPED)
    provider = row.provider
    adapter: ProviderAdapter = adapter_for(provider_config(provider))
    request = _request(generation, attempt)
    try:
        status = adapter.poll(row.provider_job_id, request)
    except ProviderError as exc:
        if exc.transient and (generation.deadline_at is None or now < generation.deadline_at):
            return _poll_later(generation, provider, attempt, now)
        attempt_finish(row, ProviderAttempt.Outcome.FAILED, None, error=exc)
        return _after_failure(generation, provider, exc, attempt)
    if status.state == "running":
        timeout = request.timeout_s or provider.read_timeout_s
        if now - row.started_at > timedelta(seconds=timeout):
            provider_job_cancel(provider=provider, job_id=row.provider_job_id)
            overdue = ProviderTransientError(
                "provider_timeout", f"Job still running after {timeout:g}s."
            )
            attempt_finish(row, ProviderAttempt.Outcome.FAILED, None, error=overdue)
            return _after_failure(generation, provider, overdue, attempt)
        return _poll_later(generation, provider, attempt, now)
    if status.state == "succeeded" and status.result is not None:
        return _complete(generation, provider, row, status.result, None)
    # A job the provider reports failed or cancelled may well succeed when submitted again.
    error = ProviderTransientError(status.error_code or "provider_job_failed", status.error_message)
    attempt_finish(row, ProviderAttempt.Outcome.FAILED, None, error=error)
    return _after_failure(generation, provider, error, attempt)


def _poll_later(
    generation: Generation, provider: Provider, attempt: int, now: datetime
) -> ProcessOutcome:
    return generation_wait(
        generation=generation,
        delay_s=poll_interval_s(provider),
        next_attempt=attempt,
        now=now,
        poll=True,
    )


def provider_job_cancel(*, provider: Provider, job_id: str) -> bool:
    """Best-effort cancel of a provider job; never raises. Returns whether it was sent."""
    try:
        adapter = adapter_for(provider_config(provider))
        if not adapter.is_async:
            return False
        adapter.cancel(job_id)
    except Exception:
        logger.warning("could not cancel job %s at %s", job_id, provider.id, exc_info=True)
        return False
    return True


def generation_provider_cancel(*, generation_id: str) -> bool:
    """After a cancel: stop the generation's running provider job, if it has one."""
    row = (
        ProviderAttempt.objects.select_related("provider")
        .filter(generation_id=generation_id, outcome=ProviderAttempt.Outcome.RUNNING)
        .exclude(provider_job_id="")
        .order_by("-id")
        .first()
    )
    if row is None:
        return False
    sent = provider_job_cancel(provider=row.provider, job_id=row.provider_job_id)
    attempt_finish(row, ProviderAttempt.Outcome.DISCARDED, None)
    return sent
