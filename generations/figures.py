"""Telemetry figures of the domain: Redis aggregates first, the database as fallback.

The Redis aggregates (``telemetry.aggregates``) answer when Redis is configured and
reachable; otherwise the same figures are computed here from the database (ProviderAttempt
and Generation rows), so the endpoints never depend on Redis. A provider's report joins its
circuit breaker (``services.breaker``): the breaker decides its health.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.module_loading import import_string

from telemetry import keys
from telemetry.aggregates import (
    ERROR_WINDOW,
    TOP_ERRORS,
    Counts,
    Stats,
    redis_series,
    redis_stats,
    window_starts,
)
from telemetry.health import thresholds
from telemetry.percentiles import PERCENTILES, nearest_rank, percentile
from telemetry.store import count_failure, telemetry_client

from .models import Generation, Provider, ProviderAttempt, Status
from .services.breaker import breaker_view


def _db_counts(
    generations: QuerySet[Generation],
    attempts: QuerySet[ProviderAttempt],
    since: datetime | None,
) -> Counts:
    if since is not None:
        generations = generations.filter(completed_at__gte=since)
        attempts = attempts.filter(finished_at__gte=since)
    g = generations.filter(status__in=[Status.COMPLETED, Status.FAILED, Status.CANCELLED])
    row = g.aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=Status.COMPLETED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        cancelled=Count("id", filter=Q(status=Status.CANCELLED)),
    )
    a = attempts.filter(finished_at__isnull=False).aggregate(
        attempts=Count("id"),
        attempt_failures=Count("id", filter=Q(outcome=ProviderAttempt.Outcome.FAILED)),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        cost_usd=Sum("cost_usd"),
    )
    counts = Counts(**{k: row[k] for k in ("total", "completed", "failed", "cancelled")})
    counts.attempts, counts.attempt_failures = a["attempts"], a["attempt_failures"]
    counts.tokens_in, counts.tokens_out = a["tokens_in"] or 0, a["tokens_out"] or 0
    counts.cost_usd = Decimal(a["cost_usd"] or 0)
    return counts


def database_stats(scope: str, ident: str, now: datetime) -> Stats:
    """The same figures as ``redis_stats``, from the database rows."""
    lookup = {"provider_id": ident} if scope == "provider" else {"operation_type": ident}
    generations = Generation.objects.filter(**lookup)
    attempts = ProviderAttempt.objects.filter(**lookup)
    hour_start, day_start = window_starts(now)
    stats = Stats(scope, ident, "database")
    stats.totals = _db_counts(generations, attempts, None)
    stats.last_1h = _db_counts(generations, attempts, hour_start)
    stats.last_24h = _db_counts(generations, attempts, day_start)
    samples = (
        generations.filter(
            status__in=[Status.COMPLETED, Status.FAILED],
            latency_ms__isnull=False,
            completed_at__gte=now - keys.LATENCY_WINDOW,
        )
        .order_by("latency_ms")
        .values_list("latency_ms", flat=True)
    )
    stats.samples = samples.count()
    for p in PERCENTILES:
        rank = nearest_rank(stats.samples, p)
        value = samples[rank - 1] if rank else None
        stats.percentiles[p] = float(value) if value is not None else None
    recent = attempts.filter(finished_at__isnull=False).order_by("-finished_at", "-id")
    for outcome in recent.values_list("outcome", flat=True)[:100]:
        if outcome != ProviderAttempt.Outcome.FAILED:
            break
        stats.consecutive_failures += 1
    failed = attempts.filter(
        outcome=ProviderAttempt.Outcome.FAILED, finished_at__gte=now - ERROR_WINDOW
    )
    groups = (
        failed.values("error_code")
        .annotate(count=Count("id"), last_seen=Max("finished_at"))
        .order_by("-count", "error_code")[:TOP_ERRORS]
    )
    for group in groups:
        last = failed.filter(error_code=group["error_code"]).order_by("-finished_at").first()
        stats.errors.append(
            {
                "error_type": group["error_code"] or "unknown",
                "count": group["count"],
                "last_error": last.error_message[:500] if last else "",
                "last_seen": group["last_seen"].isoformat(),
            }
        )
    return stats


# --- Public reads ------------------------------------------------------------------------


def telemetry_stats(
    *, scope: str, ident: str, now: datetime | None = None, source: str | None = None
) -> Stats:
    """Figures of one provider or operation type; Redis first, the database as fallback."""
    now = now or timezone.now()
    client = telemetry_client() if source != "database" else None
    if client is not None:
        try:
            return redis_stats(client, scope, ident, now)
        except Exception as exc:
            count_failure("read", exc)
    return database_stats(scope, ident, now)


def provider_limits(provider: Provider) -> dict[str, float]:
    overrides = dict(getattr(settings, "TELEMETRY_HEALTH", {}) or {})
    objective = (provider.settings or {}).get("latency_objective_ms")
    if objective:
        overrides["latency_objective_ms"] = objective
    return thresholds(overrides)


def provider_report(
    provider: Provider, *, now: datetime | None = None, source: str | None = None
) -> dict[str, Any]:
    stats = telemetry_stats(scope="provider", ident=provider.id, now=now, source=source)
    breaker = breaker_view(provider=provider, now=now)
    report = {
        "provider_id": provider.id,
        "name": provider.name,
        "enabled": provider.enabled,
        **stats.as_dict(provider_limits(provider), breaker),
    }
    # Apps above generations add figures by dotted path (experiments: feedback means).
    for key, dotted in (getattr(settings, "TELEMETRY_PROVIDER_EXTRAS", {}) or {}).items():
        report[key] = import_string(dotted)(provider)
    return report


def provider_report_all(
    *, now: datetime | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    """Every provider, busiest first (lifetime generations, then id)."""
    reports = [provider_report(p, now=now, source=source) for p in Provider.objects.all()]
    return sorted(reports, key=lambda r: (-r["totals"]["total"], r["provider_id"]))


def operation_report(
    operation_type: str, *, now: datetime | None = None, source: str | None = None
) -> dict[str, Any]:
    stats = telemetry_stats(scope="operation", ident=operation_type, now=now, source=source)
    limits = thresholds(getattr(settings, "TELEMETRY_HEALTH", {}) or {})
    return {"operation_type": operation_type, **stats.as_dict(limits)}


def hour_starts(now: datetime, hours: int = 24) -> list[datetime]:
    """The starts of the last ``hours`` hours, oldest first, the current hour included
    (the telemetry's hour buckets)."""
    return [
        (now - timedelta(hours=i)).replace(minute=0, second=0, microsecond=0)
        for i in reversed(range(hours))
    ]


def telemetry_series(
    *, scope: str, ident: str, hours: int = 24, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Hourly completed/failed/cancelled counts, oldest first (for the dashboard charts)."""
    now = now or timezone.now()
    starts = hour_starts(now, hours)
    rows = redis_series(scope, ident, starts)
    if rows is None:
        lookup = {"provider_id": ident} if scope == "provider" else {"operation_type": ident}
        grouped = (
            Generation.objects.filter(**lookup, completed_at__gte=starts[0])
            .annotate(hour=TruncHour("completed_at"))
            .values("hour", "status")
            .annotate(n=Count("id"))
        )
        by_hour: dict[datetime, dict[str, str]] = {}
        for row in grouped:
            by_hour.setdefault(row["hour"], {})[row["status"]] = str(row["n"])
        rows = [by_hour.get(start, {}) for start in starts]
    return [
        {
            "hour": start,
            "completed": int(raw.get("completed") or 0),
            "failed": int(raw.get("failed") or 0),
            "cancelled": int(raw.get("cancelled") or 0),
        }
        for start, raw in zip(starts, rows, strict=True)
    ]


class _PercentileDisc(Aggregate):
    """PostgreSQL's ``percentile_disc(f) WITHIN GROUP (ORDER BY x)``: the first value whose
    cumulative share reaches ``f``, i.e. the sample at rank ⌈f · n⌉ — the nearest rank."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"


def latency_series(
    *, scope: str, ident: str, hours: int = 24, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Hourly latency percentiles (nearest rank, ``telemetry.percentiles``) and sample
    counts, oldest first, from the same samples as the 24 h figures: generations that ran
    (completed or failed with a latency), by the hour they finished. A percentile is
    ``None`` in an hour with too few samples for it (p95 needs 20, p99 100)."""
    now = now or timezone.now()
    starts = hour_starts(now, hours)
    lookup = {"provider_id": ident} if scope == "provider" else {"operation_type": ident}
    samples = Generation.objects.filter(
        **lookup,
        status__in=[Status.COMPLETED, Status.FAILED],
        latency_ms__isnull=False,
        completed_at__gte=starts[0],
    ).annotate(hour=TruncHour("completed_at"))
    by_hour: dict[datetime, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        grouped = (
            samples.order_by()
            .values("hour")
            .annotate(
                n=Count("id"),
                **{
                    f"p{p}": _PercentileDisc(
                        "latency_ms", fraction=p / 100, output_field=FloatField()
                    )
                    for p in PERCENTILES
                },
            )
        )
        row: dict[str, Any]
        for row in grouped:  # type: ignore[assignment]  # the percentiles' keys are dynamic
            by_hour[row["hour"]] = {
                "samples": row["n"],
                **{
                    f"p{p}": row[f"p{p}"] if nearest_rank(row["n"], p) else None
                    for p in PERCENTILES
                },
            }
    else:  # the embedded database: a development's volume, ranked here
        values: dict[datetime, list[float]] = {}
        for hour, latency in samples.order_by("latency_ms").values_list("hour", "latency_ms"):
            values.setdefault(hour, []).append(float(latency or 0))
        for hour, ordered in values.items():
            by_hour[hour] = {
                "samples": len(ordered),
                **{f"p{p}": percentile(ordered, p) for p in PERCENTILES},
            }
    empty = {"samples": 0, **{f"p{p}": None for p in PERCENTILES}}
    return [{"hour": start, **by_hour.get(start, empty)} for start in starts]
