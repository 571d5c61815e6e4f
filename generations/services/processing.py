"""What a worker does with one generation: claim, call the provider, finish."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from telemetry.recording import telemetry_record_attempt

from ..errors import InvalidTransition
from ..models import Generation, Provider, ProviderAttempt, Status
from ..providers.base import ProviderConfig, ProviderError, ProviderRequest, ProviderResult
from ..providers.registry import adapter_for
from .lifecycle import generation_transition
from .pricing import cost_usd

logger = logging.getLogger("genpipe.worker")


@dataclass(frozen=True)
class ProcessOutcome:
    status: str  # missing | skipped | scheduled | completed | failed | discarded
    retry_in_s: float | None = None


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
    )


def _call(generation: Generation, request: ProviderRequest) -> ProviderResult:
    adapter = adapter_for(provider_config(generation.provider))
    try:
        return adapter.generate(request)
    except ProviderError:
        raise
    except Exception as exc:  # an adapter bug must not leave the row processing
        logger.exception("provider adapter crashed for generation %s", generation.id)
        raise ProviderError("provider_adapter_error", f"{type(exc).__name__}: {exc}") from exc


def generation_process(*, generation_id: str, now: datetime | None = None) -> ProcessOutcome:
    """Run one generation through its provider.

    Idempotent: only a ``pending`` row is claimed (``pending → processing``), so a second
    delivery of the same task does nothing. A ``scheduled_at`` in the future returns
    ``scheduled`` with the wait, for the task to re-schedule itself. Writes one
    ProviderAttempt and finishes with ``completed`` or ``failed``; a result that arrives
    after the generation was cancelled is discarded.
    """
    now = now or timezone.now()
    generation = Generation.objects.select_related("provider").filter(id=generation_id).first()
    if generation is None:
        return ProcessOutcome("missing")
    if generation.status != Status.PENDING:
        return ProcessOutcome("skipped")
    if generation.scheduled_at and generation.scheduled_at > now:
        return ProcessOutcome("scheduled", (generation.scheduled_at - now).total_seconds())
    try:
        generation_transition(
            generation_id=generation.id,
            to_status=Status.PROCESSING,
            from_statuses=frozenset({Status.PENDING}),
            actor="worker",
            reason="claimed",
        )
    except InvalidTransition:
        return ProcessOutcome("skipped")

    attempt_number = generation.attempts.count() + 1
    started = timezone.now()
    attempt = ProviderAttempt.objects.create(
        generation=generation,
        provider_id=generation.provider_id,
        attempt_number=attempt_number,
        operation_type=generation.operation_type,
        request_summary={"prompt_chars": len(generation.final_prompt)},
        started_at=started,
    )
    request = _request(generation, attempt_number)
    clock = time.perf_counter()
    try:
        result = _call(generation, request)
    except ProviderError as exc:
        finished = timezone.now()
        attempt.error_code, attempt.error_message = exc.code, exc.message[:2000]
        _finish_attempt(attempt, ProviderAttempt.Outcome.FAILED, finished, clock)
        try:
            generation_transition(
                generation_id=generation.id,
                to_status=Status.FAILED,
                actor="worker",
                reason=f"provider error {exc.code}",
                now=finished,
                fields={"error_code": exc.code, "error_message": exc.message[:2000]},
            )
        except InvalidTransition:
            return ProcessOutcome("discarded")
        return ProcessOutcome("failed")

    finished = timezone.now()
    cost = cost_usd(generation.provider, result)
    attempt.provider_job_id = result.provider_job_id
    attempt.tokens_in, attempt.tokens_out, attempt.cost_usd = (
        result.tokens_in,
        result.tokens_out,
        cost,
    )
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
        _finish_attempt(attempt, ProviderAttempt.Outcome.DISCARDED, finished, clock)
        return ProcessOutcome("discarded")
    _finish_attempt(attempt, ProviderAttempt.Outcome.SUCCEEDED, finished, clock)
    return ProcessOutcome("completed")


def _finish_attempt(
    attempt: ProviderAttempt, outcome: str, finished: datetime, clock: float
) -> None:
    """Save the attempt's outcome and feed it to telemetry."""
    attempt.outcome = outcome
    attempt.finished_at = finished
    attempt.latency_ms = round((time.perf_counter() - clock) * 1000)
    attempt.save()
    telemetry_record_attempt(
        provider_id=attempt.provider_id,
        operation_type=attempt.operation_type,
        succeeded=outcome != ProviderAttempt.Outcome.FAILED,
        error_code=attempt.error_code,
        error_message=attempt.error_message,
        tokens_in=attempt.tokens_in,
        tokens_out=attempt.tokens_out,
        cost_usd=attempt.cost_usd,
        at=finished,
    )
