"""A provider attempt's row written with the transition it belongs to.

The worker claims a generation and opens its attempt, then completes it and closes the
attempt: each pair is one change, so each is one transition with the attempt's write as
a companion (``transition_sql.Companion``): one statement on PostgreSQL, one transaction
elsewhere, and nothing written when the transition loses. A finished attempt is then
reported to the circuit breaker, telemetry and the attempt listeners (``attempt_report``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from core.redaction import redact
from telemetry.recording import telemetry_record_attempt

from ..hooks import attempt_finished
from ..models import ProviderAttempt
from ..providers.base import ProviderError
from .breaker import breaker_record


def _table() -> str:
    return connection.ops.quote_name(ProviderAttempt._meta.db_table)


@dataclass(frozen=True)
class AttemptStart:
    """Insert a ``running`` attempt when the claim wins; returns its id."""

    generation_id: uuid.UUID
    provider_id: str
    attempt_number: int
    operation_type: str
    request_summary: dict[str, Any]
    started_at: datetime

    def statement(self) -> tuple[str, list[Any]]:
        sql = (
            f"INSERT INTO {_table()} (generation_id, provider_id, attempt_number, operation_type,"
            " request_summary, provider_job_id, started_at, outcome, error_code, error_message,"
            " tokens_in, tokens_out, cost_usd)"
            " SELECT upd.id, %s, %s, %s, %s::jsonb, '', %s, %s, '', '', 0, 0, 0 FROM upd"
            " RETURNING id"
        )
        params = [
            self.provider_id,
            self.attempt_number,
            self.operation_type,
            json.dumps(self.request_summary),
            self.started_at,
            str(ProviderAttempt.Outcome.RUNNING),
        ]
        return sql, params

    def write(self) -> int:
        row = ProviderAttempt.objects.create(
            generation_id=self.generation_id,
            provider_id=self.provider_id,
            attempt_number=self.attempt_number,
            operation_type=self.operation_type,
            request_summary=self.request_summary,
            started_at=self.started_at,
        )
        return row.id


@dataclass(frozen=True)
class AttemptFinish:
    """Write a finished attempt's outcome when the transition wins; returns its id."""

    attempt_id: int
    outcome: str
    finished_at: datetime
    latency_ms: int | None
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal
    provider_job_id: str

    def _values(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "finished_at": self.finished_at,
            "latency_ms": self.latency_ms,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "provider_job_id": self.provider_job_id,
        }

    def statement(self) -> tuple[str, list[Any]]:
        values = self._values()
        sets = ", ".join(f"{name} = %s" for name in values)
        sql = (
            f"UPDATE {_table()} SET {sets}"
            " WHERE id = %s AND EXISTS (SELECT 1 FROM upd) RETURNING id"
        )
        return sql, [*values.values(), self.attempt_id]

    def write(self) -> int | None:
        updated = ProviderAttempt.objects.filter(id=self.attempt_id).update(**self._values())
        return self.attempt_id if updated else None


def attempt_finish(
    row: ProviderAttempt,
    outcome: str,
    clock: float | None,
    *,
    error: ProviderError | None = None,
    probe: bool = False,
) -> None:
    """Save the attempt's outcome and feed it to telemetry and the circuit breaker."""
    attempt_save(row, outcome, clock, error=error)
    attempt_report(row, error=error, probe=probe)


def attempt_save(
    row: ProviderAttempt, outcome: str, clock: float | None, *, error: ProviderError | None = None
) -> None:
    attempt_close(row, outcome, clock, error=error)
    row.save()


def attempt_close(
    row: ProviderAttempt, outcome: str, clock: float | None, *, error: ProviderError | None = None
) -> None:
    """Set the attempt's outcome, end and latency (not saved)."""
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


def attempt_report(
    row: ProviderAttempt,
    *,
    error: ProviderError | None = None,
    probe: bool = False,
    model: str = "",
    counted: bool = False,
    recorded: bool = False,
) -> None:
    """Feed a saved attempt to the circuit breaker (unless ``counted``: its window counted
    it already), telemetry (unless ``recorded``: ``attempt_telemetry`` did) and the attempt
    listeners."""
    finished = row.finished_at or timezone.now()
    succeeded = row.outcome != ProviderAttempt.Outcome.FAILED
    if not counted:
        breaker_record(
            provider=row.provider,
            succeeded=succeeded,
            provider_fault=error.provider_fault if error is not None else False,
            probe=probe,
            now=finished,
        )
    if not recorded:
        attempt_telemetry(row)
    model = model or str((row.provider.settings or {}).get("model") or "")
    attempt_finished(row, model=model, finished_at=finished)


def attempt_telemetry(row: ProviderAttempt) -> None:
    """Record a closed attempt in telemetry (``attempt_report`` does, unless told it was)."""
    telemetry_record_attempt(
        provider_id=row.provider_id,
        operation_type=row.operation_type,
        succeeded=row.outcome != ProviderAttempt.Outcome.FAILED,
        error_code=row.error_code,
        error_message=row.error_message,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=row.cost_usd,
        at=row.finished_at or timezone.now(),
    )
