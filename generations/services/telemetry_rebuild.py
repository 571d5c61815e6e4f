"""Rebuild the Redis aggregates from the database's durable record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from telemetry.recording import telemetry_record_attempt, telemetry_record_terminal
from telemetry.store import telemetry_client

from ..models import Generation, ProviderAttempt, Status

PATTERNS = ("generation:agg:*", "generation:errors:*")


def _events() -> Iterator[tuple[datetime, str, dict[str, Any]]]:
    """Every recorded event as (time, kind, keyword arguments of its recorder)."""
    attempts = ProviderAttempt.objects.filter(finished_at__isnull=False)
    for a in attempts.iterator(2000):
        assert a.finished_at is not None
        yield (
            a.finished_at,
            "attempt",
            {
                "provider_id": a.provider_id,
                "operation_type": a.operation_type,
                "succeeded": a.outcome != ProviderAttempt.Outcome.FAILED,
                "error_code": a.error_code,
                "error_message": a.error_message,
                "tokens_in": a.tokens_in,
                "tokens_out": a.tokens_out,
                "cost_usd": a.cost_usd,
                "at": a.finished_at,
            },
        )
    terminal = Generation.objects.filter(
        status__in=[Status.COMPLETED, Status.FAILED, Status.CANCELLED],
        completed_at__isnull=False,
    ).values_list("id", "provider_id", "operation_type", "status", "latency_ms", "completed_at")
    for gid, provider_id, op, status, latency, at in terminal.iterator(2000):
        assert at is not None
        yield (
            at,
            "terminal",
            {
                "generation_id": str(gid),
                "provider_id": provider_id,
                "operation_type": op,
                "status": status,
                "latency_ms": latency,
                "at": at,
            },
        )


_RECORDERS: dict[str, Callable[..., bool]] = {
    "attempt": telemetry_record_attempt,
    "terminal": telemetry_record_terminal,
}


def telemetry_rebuild(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Delete the telemetry keys (SCAN, never KEYS) and replay every recorded event in time
    order. Cache slots and cache statistics are untouched. Returns the events replayed;
    raises ``RuntimeError`` without Redis."""
    client = telemetry_client()
    if client is None:
        raise RuntimeError("REDIS_URL is not set: there are no Redis aggregates to rebuild.")
    for pattern in PATTERNS:
        batch: list[str] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    events = sorted(_events(), key=lambda event: (event[0], event[1]))
    for index, (_, kind, arguments) in enumerate(events, start=1):
        _RECORDERS[kind](**arguments)
        if progress and (index % 1000 == 0 or index == len(events)):
            progress(index, len(events))
    return len(events)
