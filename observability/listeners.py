"""Feeds of the metrics (and of the provider-call span), plugged into ``generations.hooks``.

Each listener increments in-memory (or memory-mapped) prometheus-client values: no
database or Redis round trip is added to a request or a task.
"""

from __future__ import annotations

from generations.hooks import AttemptFinished, StatusChange

from . import metrics, tracing


def metrics_on_transition(change: StatusChange) -> None:
    """``GENPIPE_TRANSITION_LISTENERS``: count the status each generation enters."""
    metrics.generations.labels(
        status=metrics.bounded(change.to_status),
        gen_ai_operation_name=metrics.bounded(change.operation_type),
        gen_ai_provider_name=metrics.bounded(change.provider_id),
    ).inc()
    if change.from_status == "":
        tracing.creation_annotate(change)


def metrics_on_cache_lookup(outcome: str, operation_type: str) -> None:
    """``GENPIPE_CACHE_LOOKUP_LISTENERS``: count a create's cache lookup outcome."""
    metrics.cache_lookups.labels(
        outcome=metrics.bounded(outcome), gen_ai_operation_name=metrics.bounded(operation_type)
    ).inc()


def metrics_on_attempt(attempt: AttemptFinished) -> None:
    """``GENPIPE_ATTEMPT_LISTENERS``: the GenAI histograms and the cost of one provider call
    (and its span when tracing is on)."""
    provider = metrics.bounded(attempt.provider_id)
    operation = metrics.bounded(attempt.operation_type)
    failed = attempt.outcome == "failed"
    error_type = metrics.bounded(attempt.error_code or "unknown") if failed else ""
    if attempt.latency_ms is not None:
        metrics.operation_duration.labels(provider, operation, error_type).observe(
            attempt.latency_ms / 1000
        )
    for token_type, count in (("input", attempt.tokens_in), ("output", attempt.tokens_out)):
        if count > 0:
            metrics.token_usage.labels(provider, operation, token_type).observe(count)
    if attempt.cost_usd:
        metrics.cost.labels(provider, operation).inc(float(attempt.cost_usd))
    tracing.attempt_span(attempt)
