"""What a worker does with one generation: claim an attempt, call the provider, finish.

Attempt 1 claims the generation (``pending → processing``); attempt k > 1 claims with a
conditional ``attempt_count = k - 1 → k``, so a duplicated message never calls the provider
twice. A transient failure (timeout, connection, 429, 5xx, provider busy) is retried with
exponential backoff and full jitter, honouring ``Retry-After``, up to the node's
``fallback.max_retries`` (else the provider's ``settings.max_retries``, else 2) per
provider. When retries run out, or the provider's health is ``down`` (the circuit breaker,
fed by telemetry), the generation fails over to the provider's fallback provider if that
one is enabled and supports the operation. A provider disabled after the generation was
queued is treated like an open circuit (``provider_disabled``): fail over, else wait and
fail. Permanent failures fail at once. Asynchronous providers are submitted here and
polled by re-scheduled tasks, never by a sleeping worker.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from genpipe_site.redaction import redact
from telemetry.recording import telemetry_record_attempt

from ..errors import InvalidTransition
from ..models import Generation, GenerationEvent, Provider, ProviderAttempt, Status
from ..providers.base import (
    ProviderAdapter,
    ProviderConfig,
    ProviderError,
    ProviderRequest,
    ProviderResult,
    ProviderTransientError,
)
from ..providers.registry import adapter_for
from .lifecycle import generation_transition
from .pricing import cost_usd

logger = logging.getLogger("genpipe.worker")

DEFAULT_MAX_RETRIES = 2
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
POLL_INTERVAL_S = 2.0
# An attempt is overdue this long after its own timeout (the sweeper's deadline).
DEADLINE_MARGIN = timedelta(seconds=90)


@dataclass(frozen=True)
class ProcessOutcome:
    """What the task should do next.

    ``status``: missing | skipped | scheduled | completed | failed | discarded | retry |
    submitted | running. ``next_attempt`` and ``delay_s`` say when to run attempt n again
    (retry) or when to poll (submitted/running).
    """

    status: str
    delay_s: float | None = None
    next_attempt: int | None = None

    @property
    def retry_in_s(self) -> float | None:  # kept for the scheduled_at path
        return self.delay_s


def provider_config(provider: Provider) -> ProviderConfig:
    return ProviderConfig(
        id=provider.id,
        adapter=provider.adapter,
        base_url=provider.base_url,
        credential_env_var=provider.credential_env_var,
        settings=dict(provider.settings or {}),
        connect_timeout_s=provider.connect_timeout_s,
        read_timeout_s=provider.read_timeout_s,
    )


def _fallback_config(generation: Generation) -> dict[str, object]:
    config = (generation.config or {}).get("config") or {}
    fallback = config.get("fallback") if isinstance(config, dict) else None
    return fallback if isinstance(fallback, dict) else {}


def _timeout_s(generation: Generation) -> float | None:
    timeout_ms = _fallback_config(generation).get("timeout_ms")
    return float(timeout_ms) / 1000 if isinstance(timeout_ms, int | float) else None


def max_retries(generation: Generation, provider: Provider) -> int:
    """Retries per provider: the node's ``fallback.max_retries``, else the provider's."""
    node = _fallback_config(generation).get("max_retries")
    if isinstance(node, int):
        return node
    configured = (provider.settings or {}).get("max_retries")
    return int(configured) if isinstance(configured, int) else DEFAULT_MAX_RETRIES


def backoff_s(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's ``Retry-After`` is a floor."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, retry_number - 1))
    delay = random.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, BACKOFF_CAP_S)


def _request(generation: Generation, attempt_number: int) -> ProviderRequest:
    canonical = generation.canonical_params or {}
    provider_block = (canonical.get("style") or {}).get(generation.provider_id) or {}
    seed = str(provider_block.get("seed") or generation.reproducible_hash)
    return ProviderRequest(
        generation_id=str(generation.id),
        operation_type=generation.operation_type,
        prompt=generation.final_prompt,
        seed=seed,
        attempt_number=attempt_number,
        params=canonical,
        timeout_s=_timeout_s(generation),
    )


def _provider_down(provider: Provider) -> bool:
    """The circuit breaker: is the provider's telemetry health ``down``?"""
    from telemetry.selectors import provider_health_state

    try:
        return provider_health_state(provider) == "down"
    except Exception:  # no figures: let the call through
        logger.warning("health check failed for %s", provider.id, exc_info=True)
        return False


def _claim(generation: Generation, attempt_number: int, now: datetime) -> bool:
    """Take attempt ``attempt_number`` of a generation, or learn that someone else did."""
    deadline = (
        now
        + timedelta(seconds=_timeout_s(generation) or generation.provider.read_timeout_s)
        + DEADLINE_MARGIN
    )
    if attempt_number == 1:
        try:
            generation_transition(
                generation_id=generation.id,
                to_status=Status.PROCESSING,
                from_statuses=frozenset({Status.PENDING}),
                actor="worker",
                reason="claimed",
                now=now,
                fields={"attempt_count": 1, "deadline_at": deadline},
            )
        except InvalidTransition:
            return False
        return True
    claimed = Generation.objects.filter(
        id=generation.id, status=Status.PROCESSING, attempt_count=attempt_number - 1
    ).update(attempt_count=attempt_number, deadline_at=deadline, updated_at=now)
    return claimed == 1


def generation_process(
    *, generation_id: str, attempt: int = 1, now: datetime | None = None
) -> ProcessOutcome:
    """Run attempt ``attempt`` of a generation (see the module docstring).

    Idempotent per attempt: a second delivery finds the attempt claimed and does nothing.
    Writes a ProviderAttempt per provider call and finishes with ``completed`` or
    ``failed``; a result arriving after a cancel is discarded.
    """
    now = now or timezone.now()
    generation = Generation.objects.select_related("provider").filter(id=generation_id).first()
    if generation is None:
        return ProcessOutcome("missing")
    if attempt == 1:
        if generation.status != Status.PENDING:
            return ProcessOutcome("skipped")
        if generation.scheduled_at and generation.scheduled_at > now:
            return ProcessOutcome("scheduled", (generation.scheduled_at - now).total_seconds())
    elif generation.status != Status.PROCESSING:
        return ProcessOutcome("skipped")
    if not _claim(generation, attempt, now):
        return ProcessOutcome("skipped")

    provider = generation.provider
    if not provider.enabled:  # disabled after this generation was queued
        error = ProviderTransientError("provider_disabled", "The provider is disabled.")
        return _after_failure(generation, provider, error, attempt, circuit_open=True)
    if _provider_down(provider):
        error = ProviderTransientError("provider_unavailable", "Circuit open: provider is down.")
        return _after_failure(generation, provider, error, attempt, circuit_open=True)
    try:
        adapter = adapter_for(provider_config(provider))
    except ProviderError as exc:
        return _after_failure(generation, provider, exc, attempt)
    request = _request(generation, attempt)
    row = ProviderAttempt.objects.create(
        generation=generation,
        provider=provider,
        attempt_number=attempt,
        operation_type=generation.operation_type,
        request_summary={
            "prompt_chars": len(generation.final_prompt),
            "timeout_s": request.timeout_s,
        },
        started_at=timezone.now(),
    )
    clock = time.perf_counter()
    try:
        if adapter.is_async:
            row.provider_job_id = _call(adapter.submit, request)
            row.save(update_fields=["provider_job_id"])
            return ProcessOutcome("submitted", _poll_interval(provider), attempt)
        result = _call(adapter.generate, request)
    except ProviderError as exc:
        _finish_attempt(row, ProviderAttempt.Outcome.FAILED, clock, error=exc)
        return _after_failure(generation, provider, exc, attempt)
    return _complete(generation, provider, row, result, clock)


def _call(function, request: ProviderRequest):  # type: ignore[no-untyped-def]
    try:
        return function(request)
    except ProviderError:
        raise
    except Exception as exc:  # an adapter bug must not leave the row processing
        logger.exception("provider adapter crashed for generation %s", request.generation_id)
        raise ProviderError("provider_adapter_error", f"{type(exc).__name__}: {exc}") from exc


def _poll_interval(provider: Provider) -> float:
    value = (provider.settings or {}).get("poll_interval_s")
    return float(value) if isinstance(value, int | float) and value > 0 else POLL_INTERVAL_S


def _complete(
    generation: Generation,
    provider: Provider,
    row: ProviderAttempt,
    result: ProviderResult,
    clock: float | None,
) -> ProcessOutcome:
    finished = timezone.now()
    cost = cost_usd(provider, result)
    row.provider_job_id = result.provider_job_id or row.provider_job_id
    row.tokens_in, row.tokens_out, row.cost_usd = result.tokens_in, result.tokens_out, cost
    try:
        generation_transition(
            generation_id=generation.id,
            to_status=Status.COMPLETED,
            actor="worker",
            reason="provider succeeded",
            now=finished,
            fields={
                "result": result.as_result_json(),
                "tokens_in": result.tokens_in,
                "tokens_out": result.tokens_out,
                "cost_usd": cost,
            },
        )
    except InvalidTransition:
        # Cancelled while the provider worked: the call still happened (and cost money).
        _finish_attempt(row, ProviderAttempt.Outcome.DISCARDED, clock)
        return ProcessOutcome("discarded")
    _finish_attempt(row, ProviderAttempt.Outcome.SUCCEEDED, clock)
    return ProcessOutcome("completed")


def _finish_attempt(
    row: ProviderAttempt, outcome: str, clock: float | None, *, error: ProviderError | None = None
) -> None:
    """Save the attempt's outcome and feed it to telemetry."""
    finished = timezone.now()
    row.outcome = outcome
    row.finished_at = finished
    if error is not None:
        row.error_code, row.error_message = error.code, redact(error.message)[:2000]
    elapsed = (
        (time.perf_counter() - clock)
        if clock is not None
        else ((finished - row.started_at).total_seconds())
    )
    row.latency_ms = round(elapsed * 1000)
    row.save()
    telemetry_record_attempt(
        provider_id=row.provider_id,
        operation_type=row.operation_type,
        succeeded=outcome != ProviderAttempt.Outcome.FAILED,
        error_code=row.error_code,
        error_message=row.error_message,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=row.cost_usd,
        at=finished,
    )


def _usable_fallback(generation: Generation, provider: Provider) -> Provider | None:
    fallback = provider.fallback_provider
    if fallback is None or generation.failover_from:
        return None  # one failover per generation: no ping-pong between providers
    if not fallback.enabled or not fallback.supports(generation.operation_type):
        return None
    return fallback


def _failover(generation: Generation, provider: Provider, fallback: Provider, reason: str) -> bool:
    with transaction.atomic():
        moved = Generation.objects.filter(
            id=generation.id, status=Status.PROCESSING, provider_id=provider.id
        ).update(provider=fallback, failover_from=provider.id, updated_at=timezone.now())
        if moved:
            GenerationEvent.objects.create(
                generation_id=generation.id,
                from_status=Status.PROCESSING,
                to_status=Status.PROCESSING,
                actor="worker",
                at=timezone.now(),
                reason=f"failover {provider.id} → {fallback.id}: {reason}"[:255],
            )
    return bool(moved)


def _after_failure(
    generation: Generation,
    provider: Provider,
    error: ProviderError,
    attempt: int,
    *,
    circuit_open: bool = False,
) -> ProcessOutcome:
    """Retry, fail over, or fail — in that order of preference."""
    on_this_provider = attempt - _attempts_before(generation, provider)
    if (
        error.transient
        and not circuit_open
        and on_this_provider <= max_retries(generation, provider)
    ):
        return ProcessOutcome("retry", backoff_s(on_this_provider, error.retry_after), attempt + 1)
    fallback = _usable_fallback(generation, provider) if error.transient else None
    if fallback is not None and _failover(generation, provider, fallback, error.code):
        return ProcessOutcome("retry", 0.0, attempt + 1)
    if circuit_open and on_this_provider <= max_retries(generation, provider):
        return ProcessOutcome("retry", backoff_s(on_this_provider, 30.0), attempt + 1)
    try:
        generation_transition(
            generation_id=generation.id,
            to_status=Status.FAILED,
            actor="worker",
            reason=f"provider error {error.code}",
            fields={"error_code": error.code, "error_message": redact(error.message)[:2000]},
        )
    except InvalidTransition:
        return ProcessOutcome("discarded")
    return ProcessOutcome("failed")


def _retry_later(generation: Generation, delay_s: float, attempt: int) -> ProcessOutcome:
    """Schedule attempt + 1, moving the sweeper's deadline past the wait."""
    timeout = _timeout_s(generation) or generation.provider.read_timeout_s
    deadline = timezone.now() + timedelta(seconds=delay_s + timeout) + DEADLINE_MARGIN
    Generation.objects.filter(id=generation.id, status=Status.PROCESSING).update(
        deadline_at=deadline
    )
    return ProcessOutcome("retry", delay_s, attempt + 1)


def _attempts_before(generation: Generation, provider: Provider) -> int:
    """Attempts spent on earlier providers (before a failover to ``provider``)."""
    if not generation.failover_from or generation.failover_from == provider.id:
        return 0
    return ProviderAttempt.objects.filter(
        generation_id=generation.id, provider_id=generation.failover_from
    ).count()


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
        return ProcessOutcome("discarded")
    if generation.attempt_count != attempt:
        return ProcessOutcome("skipped")
    row = (
        ProviderAttempt.objects.filter(generation=generation, attempt_number=attempt)
        .exclude(provider_job_id="")
        .order_by("-id")
        .first()
    )
    if row is None or row.outcome != ProviderAttempt.Outcome.RUNNING:
        return ProcessOutcome("skipped")
    provider = row.provider
    adapter: ProviderAdapter = adapter_for(provider_config(provider))
    request = _request(generation, attempt)
    try:
        status = adapter.poll(row.provider_job_id, request)
    except ProviderError as exc:
        if exc.transient and (generation.deadline_at is None or now < generation.deadline_at):
            return ProcessOutcome("running", _poll_interval(provider), attempt)
        _finish_attempt(row, ProviderAttempt.Outcome.FAILED, None, error=exc)
        return _after_failure(generation, provider, exc, attempt)
    if status.state == "running":
        timeout = request.timeout_s or provider.read_timeout_s
        if now - row.started_at > timedelta(seconds=timeout):
            provider_job_cancel(provider=provider, job_id=row.provider_job_id)
            overdue = ProviderTransientError(
                "provider_timeout", f"Job still running after {timeout:g}s."
            )
            _finish_attempt(row, ProviderAttempt.Outcome.FAILED, None, error=overdue)
            return _after_failure(generation, provider, overdue, attempt)
        return ProcessOutcome("running", _poll_interval(provider), attempt)
    if status.state == "succeeded" and status.result is not None:
        return _complete(generation, provider, row, status.result, None)
    # A job the provider reports failed or cancelled may well succeed when submitted again.
    error = ProviderTransientError(status.error_code or "provider_job_failed", status.error_message)
    _finish_attempt(row, ProviderAttempt.Outcome.FAILED, None, error=error)
    return _after_failure(generation, provider, error, attempt)


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
    _finish_attempt(row, ProviderAttempt.Outcome.DISCARDED, None)
    return sent
