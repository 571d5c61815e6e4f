"""What a worker does with one generation: claim an attempt, call the provider, finish.

Attempt 1 claims the generation (``pending → processing``); attempt k > 1 claims with a
conditional ``attempt_count = k - 1 → k``, so a duplicated message never calls the provider
twice. A transient failure (timeout, connection, 429, 5xx, provider busy) is retried with
exponential backoff and full jitter, honouring ``Retry-After``, up to the node's
``fallback.max_retries`` (else the provider's ``settings.max_retries``, else 2) per
provider. When retries run out, or the provider's circuit breaker refuses the call (see
``services.breaker``), the generation fails over to the provider's fallback provider if
that one is enabled and supports the operation. A provider disabled after the generation
was queued is treated like an open circuit (``provider_disabled``): fail over, else wait
and fail. Permanent failures fail at once. Asynchronous providers are submitted here and
polled by re-scheduled tasks, never by a sleeping worker. Every wait goes through
``services.waits.generation_wait``; a run interrupted by a crash is picked up by
``services.recovery.generation_recover``.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime

from django.utils import timezone

from core.redaction import redact
from telemetry.recording import telemetry_batch

from ..errors import InvalidTransition
from ..models import Generation, Provider, ProviderAttempt, Status
from ..providers.base import (
    ProviderAdapter,
    ProviderConfig,
    ProviderError,
    ProviderRequest,
    ProviderResult,
    ProviderTransientError,
)
from ..providers.registry import adapter_for
from .attempts import (
    AttemptFinish,
    AttemptStart,
    attempt_close,
    attempt_finish,
    attempt_report,
    attempt_save,
    attempt_telemetry,
)
from .breaker import WindowSuccess, breaker_admit, breaker_closed, breaker_record
from .failover import generation_failover, usable_fallback
from .lifecycle import generation_transition
from .lookups import generation_for_worker
from .pricing import cost_usd
from .recovery import claimant, generation_recover, interrupted_run
from .transition_sql import Companion
from .waits import (
    ProcessOutcome,
    Step,
    attempt_deadline,
    backoff_s,
    generation_wait,
    max_retries,
    poll_interval_s,
    timeout_s,
)

logger = logging.getLogger("genpipe.worker")

__all__ = [
    "ProcessOutcome",
    "Step",
    "backoff_s",
    "generation_process",
    "max_retries",
]
# Codes of a call refused before it was made (no provider latency, no breaker feedback).
CIRCUIT_CODES = frozenset({"provider_unavailable", "provider_disabled"})


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
        timeout_s=timeout_s(generation),
    )


def _claim_fields(
    generation: Generation, attempt_number: int, now: datetime, delivery: str
) -> dict[str, object]:
    return {
        "attempt_count": attempt_number,
        "deadline_at": attempt_deadline(generation, generation.provider, now),
        "claimed_at": now,
        "claimed_by": claimant(delivery),
        "next_attempt_at": None,
    }


def _claim(generation: Generation, attempt_number: int, now: datetime, delivery: str) -> bool:
    """Take attempt ``attempt_number`` of a generation, or learn that someone else did."""
    fields = _claim_fields(generation, attempt_number, now, delivery)
    if attempt_number == 1:
        try:
            generation_transition(
                generation_id=generation.id,
                to_status=Status.PROCESSING,
                from_statuses=frozenset({Status.PENDING}),
                actor="worker",
                reason="claimed",
                now=now,
                fields=fields,
            )
        except InvalidTransition:
            return False
        return True
    claimed = Generation.objects.filter(
        id=generation.id, status=Status.PROCESSING, attempt_count=attempt_number - 1
    ).update(updated_at=now, **fields)
    return claimed == 1


def _claim_and_start(
    generation: Generation, request: ProviderRequest, now: datetime, delivery: str
) -> ProviderAttempt | None:
    """Claim attempt 1 and open its attempt row in one transition (``AttemptStart``), when
    the call may go without asking the breaker anything (``None``: another delivery has it).
    """
    start = AttemptStart(
        generation_id=generation.id,
        provider_id=generation.provider_id,
        attempt_number=1,
        operation_type=generation.operation_type,
        request_summary=_summary(generation, request),
        started_at=now,
    )
    try:
        transition = generation_transition(
            generation_id=generation.id,
            to_status=Status.PROCESSING,
            from_statuses=frozenset({Status.PENDING}),
            actor="worker",
            reason="claimed",
            now=now,
            fields=_claim_fields(generation, 1, now, delivery),
            also=[start],
        )
    except InvalidTransition:
        return None
    row = ProviderAttempt(
        id=transition.also[0],
        generation=generation,
        provider=generation.provider,
        attempt_number=1,
        operation_type=start.operation_type,
        request_summary=start.request_summary,
        started_at=now,
    )
    row._state.adding, row._state.db = False, "default"
    return row


def _summary(generation: Generation, request: ProviderRequest) -> dict[str, object]:
    return {"prompt_chars": len(generation.final_prompt), "timeout_s": request.timeout_s}


def generation_process(
    *, generation_id: str, attempt: int = 1, delivery: str = "", now: datetime | None = None
) -> ProcessOutcome:
    """Run attempt ``attempt`` of a generation (see the module docstring).

    ``delivery`` identifies the task run (``<task id>:<retry number>``): a redelivery of
    a run that died mid-attempt recovers the generation (``generation_recover``).
    Idempotent per attempt otherwise: a second delivery finds the attempt claimed and does
    nothing. Writes a ProviderAttempt per provider call and finishes with ``completed`` or
    ``failed``; a result arriving after a cancel is discarded.
    """
    now = now or timezone.now()
    # With its provider and the breaker's row: a closed breaker then costs no statement.
    generation = generation_for_worker(generation_id=generation_id)
    if generation is None:
        return ProcessOutcome(Step.MISSING)
    waiting = generation.next_attempt_at is not None and generation.next_attempt_at > now
    if (
        generation.status == Status.PROCESSING
        and generation.attempt_count == attempt
        and not waiting  # the run ended normally, scheduling the next attempt
        and interrupted_run(generation.claimed_by, delivery)
    ):
        return generation_recover(
            generation=generation, now=now, reason="redelivered after its worker was lost"
        )
    if attempt == 1:
        if generation.status != Status.PENDING:
            return ProcessOutcome(Step.SKIPPED)
        if generation.scheduled_at and generation.scheduled_at > now:
            delay = (generation.scheduled_at - now).total_seconds()
            return ProcessOutcome(Step.SCHEDULED, delay)
    elif generation.status != Status.PROCESSING:
        return ProcessOutcome(Step.SKIPPED)
    provider = generation.provider
    # The usual case: an enabled provider, a closed breaker read with the generation and an
    # adapter at hand: the claim opens the attempt row in the same statement.
    adapter = _ready_adapter(provider) if attempt == 1 and breaker_closed(provider) else None
    if adapter is not None:
        request = _request(generation, attempt)
        claimed = _claim_and_start(generation, request, now, delivery)
        if claimed is None:
            return ProcessOutcome(Step.SKIPPED)
        return _run(generation, provider, adapter, request, claimed, attempt, probe=False)
    if not _claim(generation, attempt, now, delivery):
        return ProcessOutcome(Step.SKIPPED)

    if not provider.enabled:  # disabled after this generation was queued
        error = ProviderTransientError("provider_disabled", "The provider is disabled.")
        return _after_failure(generation, provider, error, attempt, circuit_open=True)
    admission = breaker_admit(provider=provider, now=now)
    if not admission.allowed:
        error = ProviderTransientError(
            "provider_unavailable", f"Circuit open: {admission.reason or 'provider is down'}."
        )
        return _after_failure(
            generation, provider, error, attempt, circuit_open=True, until=admission.retry_at
        )
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
        request_summary=_summary(generation, request),
        started_at=timezone.now(),
    )
    return _run(generation, provider, adapter, request, row, attempt, probe=admission.probe)


def _ready_adapter(provider: Provider) -> ProviderAdapter | None:
    """The provider's adapter when a call may go now, else ``None`` (the full path)."""
    if not provider.enabled:
        return None
    try:
        return adapter_for(provider_config(provider))
    except ProviderError:
        return None


def _run(
    generation: Generation,
    provider: Provider,
    adapter: ProviderAdapter,
    request: ProviderRequest,
    row: ProviderAttempt,
    attempt: int,
    *,
    probe: bool,
) -> ProcessOutcome:
    """Call the provider for an opened attempt and finish the generation accordingly."""
    clock = time.perf_counter()
    try:
        if adapter.is_async:
            row.provider_job_id = _call(adapter.submit, request)
            row.save(update_fields=["provider_job_id"])
            breaker_record(
                provider=provider,
                succeeded=True,
                provider_fault=False,
                probe=probe,
                now=timezone.now(),
            )
            outcome = generation_wait(
                generation=generation,
                delay_s=poll_interval_s(provider),
                next_attempt=attempt,
                now=timezone.now(),
                poll=True,
            )
            return ProcessOutcome(Step.SUBMITTED, outcome.delay_s, attempt)
        result = _call(adapter.generate, request)
    except ProviderError as exc:
        failed = ProviderAttempt.Outcome.FAILED
        attempt_finish(row, failed, clock, error=exc, probe=probe)
        return _after_failure(generation, provider, exc, attempt)
    return _complete(generation, provider, row, result, clock, probe=probe)


def _call(function, request: ProviderRequest):  # type: ignore[no-untyped-def]
    try:
        return function(request)
    except ProviderError:
        raise
    except Exception as exc:  # an adapter bug must not leave the row processing
        logger.exception("provider adapter crashed for generation %s", request.generation_id)
        raise ProviderError("provider_adapter_error", f"{type(exc).__name__}: {exc}") from exc


def _complete(
    generation: Generation,
    provider: Provider,
    row: ProviderAttempt,
    result: ProviderResult,
    clock: float | None,
    *,
    probe: bool = False,
) -> ProcessOutcome:
    """Complete the generation and finish its attempt in one transaction (a worker dying
    in between never leaves a completed generation with a ``running`` attempt)."""
    cost = cost_usd(provider, result)
    row.provider_job_id = result.provider_job_id or row.provider_job_id
    row.tokens_in, row.tokens_out, row.cost_usd = result.tokens_in, result.tokens_out, cost
    attempt_close(row, ProviderAttempt.Outcome.SUCCEEDED, clock)
    finished = row.finished_at or timezone.now()
    finish = AttemptFinish(
        attempt_id=row.id,
        outcome=row.outcome,
        finished_at=finished,
        latency_ms=row.latency_ms,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=cost,
        provider_job_id=row.provider_job_id,
    )
    # The call counts in a closed breaker's window in the same statement; a probe's
    # success (or a breaker opened meanwhile) goes through breaker_record.
    also: list[Companion] = [finish] if probe else [finish, WindowSuccess(provider.id, finished)]
    model = str((result.metadata or {}).get("model") or "")
    # The attempt and terminal events are held, then sent with the completion's listener
    # round (generations.hooks) or, when there is none, together at the end of the block.
    with telemetry_batch():
        attempt_telemetry(row)  # a discarded result's call counts the same
        try:
            transition = generation_transition(
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
                also=also,
            )
        except InvalidTransition:
            # Cancelled while the provider worked: the call still happened (and cost money).
            attempt_save(row, ProviderAttempt.Outcome.DISCARDED, clock)
            attempt_report(row, probe=probe, model=model, recorded=True)
            return ProcessOutcome(Step.DISCARDED)
        counted = len(transition.also) > 1 and transition.also[1] is not None
        attempt_report(row, probe=probe, model=model, counted=counted, recorded=True)
    return ProcessOutcome(Step.COMPLETED)


def _after_failure(
    generation: Generation,
    provider: Provider,
    error: ProviderError,
    attempt: int,
    *,
    circuit_open: bool = False,
    until: datetime | None = None,
) -> ProcessOutcome:
    """Retry, fail over, or fail — in that order of preference.

    ``circuit_open``: the call was refused before it was made (open circuit, disabled
    provider); ``until`` is when the breaker may let a call through again.
    """
    now = timezone.now()
    on_this_provider = attempt - _attempts_before(generation, provider)
    budget_left = on_this_provider <= max_retries(generation, provider)
    if error.transient and not circuit_open and budget_left:
        delay = backoff_s(on_this_provider, error.retry_after)
        return generation_wait(
            generation=generation, delay_s=delay, next_attempt=attempt + 1, now=now
        )
    fallback = usable_fallback(generation, provider) if error.transient else None
    if fallback is not None and generation_failover(generation, provider, fallback, error.code):
        return generation_wait(generation=generation, delay_s=0, next_attempt=attempt + 1, now=now)
    if circuit_open and budget_left:
        # Wait until the breaker may admit a call (a little jitter spreads the herd).
        delay = (until - now).total_seconds() if until else backoff_s(on_this_provider, 30.0)
        return generation_wait(
            generation=generation,
            delay_s=max(1.0, delay) + random.uniform(0, 1),
            next_attempt=attempt + 1,
            now=now,
        )
    fields: dict[str, object] = {
        "error_code": error.code,
        "error_message": redact(error.message)[:2000],
    }
    if error.code in CIRCUIT_CODES:
        fields["latency_ms"] = None  # it waited for a provider it never reached
    try:
        generation_transition(
            generation_id=generation.id,
            to_status=Status.FAILED,
            actor="worker",
            reason=f"provider error {error.code}",
            fields=fields,
        )
    except InvalidTransition:
        return ProcessOutcome(Step.DISCARDED)
    return ProcessOutcome(Step.FAILED)


def _attempts_before(generation: Generation, provider: Provider) -> int:
    """Attempts spent on earlier providers (before a failover to ``provider``)."""
    if not generation.failover_from or generation.failover_from == provider.id:
        return 0
    return ProviderAttempt.objects.filter(
        generation_id=generation.id, provider_id=generation.failover_from
    ).count()
