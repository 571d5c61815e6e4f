"""Experiments: a family with two or more active versions, measured per version.

Statistics come from ``experiments.stats`` (pure functions, docs/statistics.md); this
module only gathers the counts from the database and writes the adaptive weights.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncDate

from generations.models import (
    Allocation,
    Generation,
    PromptFamily,
    PromptVersion,
    Status,
)

from . import stats
from .errors import NoWinner, VersionNotFound
from .models import Exposure, Feedback, FeedbackMetric

EXPOSING_REUSES = ("cache", "dedup")  # an idempotent replay is the same request again


def exposure_on_reuse(generation: Generation, reason: str) -> None:
    """``GENPIPE_REUSE_LISTENERS``: a cache or dedup hit is one more exposure of the version
    that produced the content."""
    if reason in EXPOSING_REUSES and generation.prompt_version_id is not None:
        Exposure.objects.create(
            version_id=generation.prompt_version_id, generation=generation, reason=reason
        )


def _variants(family: PromptFamily) -> list[PromptVersion]:
    """Active versions, plus inactive ones that produced generations (for history)."""
    return list(
        family.versions.filter(Q(is_active=True) | Q(generations__isnull=False))
        .distinct()
        .order_by("version_number")
    )


def _summaries(versions: Sequence[PromptVersion], metric: FeedbackMetric) -> list[stats.Summary]:
    rows = (
        Feedback.objects.filter(prompt_version__in=versions, metric=metric)
        .values("prompt_version")
        .annotate(n=Count("id"), total=Sum("value"), total_sq=Sum(F("value") * F("value")))
    )
    by_version = {r["prompt_version"]: r for r in rows}
    out = []
    for version in versions:
        row = by_version.get(version.id)
        out.append(
            stats.Summary(row["n"], float(row["total"]), float(row["total_sq"]))
            if row
            else stats.EMPTY
        )
    return out


def _percentile(version: PromptVersion, p: int) -> int | None:
    timed = Generation.objects.filter(prompt_version=version, latency_ms__isnull=False)
    n = timed.count()
    if not n:
        return None
    rank = max(0, -(-p * n // 100) - 1)  # nearest rank
    return timed.order_by("latency_ms").values_list("latency_ms", flat=True)[rank]


def _operations(version: PromptVersion) -> dict[str, Any]:
    agg = Generation.objects.filter(prompt_version=version).aggregate(
        generations=Count("id"),
        completed=Count("id", filter=Q(status=Status.COMPLETED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        cost=Avg("cost_usd", filter=Q(status=Status.COMPLETED)),
    )
    reuses = Exposure.objects.filter(version=version).count()
    finished = agg["completed"] + agg["failed"]
    cost = agg["cost"]
    return {
        "exposures": agg["generations"] + reuses,
        "generations": agg["generations"],
        "success_rate": round(agg["completed"] / finished, 4) if finished else None,
        "latency_ms": {"p50": _percentile(version, 50), "p95": _percentile(version, 95)},
        "avg_cost_usd": str(Decimal(cost).quantize(Decimal("0.000001"))) if cost else None,
    }


def _metric_figures(
    metric: FeedbackMetric, summaries: list[stats.Summary], live: list[bool]
) -> list[dict[str, Any]]:
    live_summaries = [s for s, on in zip(summaries, live, strict=True) if on]
    probs = iter(
        stats.p_best(metric.kind, live_summaries, higher_is_better=metric.higher_is_better)
    )
    out = []
    for s, on in zip(summaries, live, strict=True):
        bounds = stats.interval(metric.kind, s)
        out.append(
            {
                "n": s.n,
                "mean": round(s.mean, 4) if s.mean is not None else None,
                "interval": [round(bounds[0], 4), round(bounds[1], 4)] if bounds else None,
                "p_best": round(next(probs), 4) if on else None,
            }
        )
    return out


def family_metric(family: PromptFamily) -> FeedbackMetric:
    from .feedback import metric_builtin_ensure

    metric = FeedbackMetric.objects.filter(workspace_id=family.workspace_id, name=family.metric)
    return metric.first() or metric_builtin_ensure(workspace=family.workspace)


def experiment_report(*, family: PromptFamily) -> dict[str, Any]:
    """``GET …/experiment``: per-version operations and feedback, and the verdict."""
    variants = _variants(family)
    live = [v.is_active for v in variants]
    primary = family_metric(family)
    metrics = list(FeedbackMetric.objects.filter(workspace_id=family.workspace_id))
    used = set(
        Feedback.objects.filter(prompt_version__in=variants)
        .values_list("metric_id", flat=True)
        .distinct()
    )
    shown = [m for m in metrics if m.id in used or m.id == primary.id]
    figures = {m.name: _metric_figures(m, _summaries(variants, m), live) for m in shown}

    active = [v for v in variants if v.is_active]
    primary_summaries = _summaries(active, primary)
    result = stats.verdict(
        primary.kind,
        primary_summaries,
        higher_is_better=primary.higher_is_better,
        min_samples=family.min_samples,
    )
    winner = active[result.winner].version_number if result.winner is not None else None
    return {
        "family": family.slug,
        "metric": primary.name,
        "allocation": family.allocation,
        "running": len(active) >= 2,
        "verdict": result.verdict,
        "winner": winner,
        "variants": [
            {
                "version": v.version_number,
                "prompt_version_id": str(v.id),
                "active": v.is_active,
                "weight": v.weight,
                "allocation_share": _share(family, active, v),
                **_operations(v),
                "metrics": {name: rows[i] for name, rows in figures.items()},
            }
            for i, v in enumerate(variants)
        ],
    }


def _share(family: PromptFamily, active: list[PromptVersion], version: PromptVersion) -> float:
    """The version's share of new assignments today."""
    from generations.services.prompts import allocation_weights

    if version not in active:
        return 0.0
    weights = allocation_weights(family, active)
    total = sum(weights)
    return round(weights[active.index(version)] / total, 4) if total else 0.0


def experiment_promote(*, family: PromptFamily, version_number: int | None = None) -> PromptVersion:
    """Make the winner (or the named version) the family's only active version."""
    with transaction.atomic():
        if version_number is None:
            report = experiment_report(family=family)
            if report["verdict"] != "winner":
                raise NoWinner()
            version_number = report["winner"]
        chosen = family.versions.filter(version_number=version_number).first()
        if chosen is None:
            raise VersionNotFound()
        family.versions.exclude(pk=chosen.pk).update(is_active=False)
        if not chosen.is_active:
            chosen.is_active = True
            chosen.save(update_fields=["is_active"])
    return chosen


def allocation_refresh(*, family: PromptFamily) -> list[float] | None:
    """Recompute the adaptive weights of the family's active versions (Thompson sampling)."""
    if family.allocation != Allocation.ADAPTIVE:
        return None
    active = list(family.versions.filter(is_active=True).order_by("version_number"))
    if len(active) < 2:
        return None
    metric = family_metric(family)
    weights = stats.allocation_weights(
        metric.kind,
        _summaries(active, metric),
        higher_is_better=metric.higher_is_better,
        min_samples=family.min_samples,
        floor=family.floor_weight,
    )
    for version, weight in zip(active, weights, strict=True):
        PromptVersion.objects.filter(pk=version.pk).update(adaptive_weight=weight)
    return weights


def allocation_refresh_for_version(version_id: uuid.UUID) -> None:
    version = PromptVersion.objects.select_related("family").filter(pk=version_id).first()
    if version is not None:
        allocation_refresh(family=version.family)


def experiment_series(*, family: PromptFamily) -> list[dict[str, Any]]:
    """Cumulative mean and interval of the primary metric per version per day (charts)."""
    metric = family_metric(family)
    variants = _variants(family)
    rows = (
        Feedback.objects.filter(prompt_version__in=variants, metric=metric)
        .annotate(day=TruncDate("created_at"))
        .values("prompt_version", "day")
        .annotate(n=Count("id"), total=Sum("value"), total_sq=Sum(F("value") * F("value")))
        .order_by("day")
    )
    days: list[date] = sorted({r["day"] for r in rows})
    series = []
    for version in variants:
        running = stats.EMPTY
        points = []
        per_day = {r["day"]: r for r in rows if r["prompt_version"] == version.id}
        for day in days:
            if day in per_day:
                r = per_day[day]
                running = running.merge(
                    stats.Summary(r["n"], float(r["total"]), float(r["total_sq"]))
                )
            bounds = stats.interval(metric.kind, running)
            points.append({"day": day, "mean": running.mean, "interval": bounds, "n": running.n})
        series.append({"version": version.version_number, "points": points})
    return series
