"""Feedback metrics and values: a game's players rate what genpipe made."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from core.errors import Conflict, ValidationFailed
from generations.models import Generation, Workspace

from .models import BUILTIN_METRIC, Feedback, FeedbackMetric, MetricKind


def metric_builtin_ensure(*, workspace: Workspace) -> FeedbackMetric:
    """The ``rating`` metric (1-5, higher is better) every workspace has."""
    metric, _ = FeedbackMetric.objects.get_or_create(
        workspace=workspace,
        name=BUILTIN_METRIC,
        defaults={
            "kind": MetricKind.RATING,
            "higher_is_better": True,
            "description": "Built in: a 1-5 star rating.",
        },
    )
    return metric


def metric_list(*, workspace: Workspace) -> list[FeedbackMetric]:
    metric_builtin_ensure(workspace=workspace)
    return list(FeedbackMetric.objects.filter(workspace=workspace).order_by("name"))


def metric_create(*, workspace: Workspace, data: Mapping[str, Any]) -> FeedbackMetric:
    metric_builtin_ensure(workspace=workspace)
    try:
        with transaction.atomic():
            return FeedbackMetric.objects.create(
                workspace=workspace,
                name=data["name"],
                kind=data["kind"],
                higher_is_better=data.get("higher_is_better", True),
                description=data.get("description", ""),
            )
    except IntegrityError:
        raise Conflict(
            f"Feedback metric {data['name']!r} already exists.", code="metric_exists"
        ) from None


def _metric(workspace: Workspace, name: str) -> FeedbackMetric:
    if name == BUILTIN_METRIC:
        return metric_builtin_ensure(workspace=workspace)
    metric = FeedbackMetric.objects.filter(workspace=workspace, name=name).first()
    if metric is None:
        raise ValidationFailed.single(
            "metric_not_found", "metric", f"Unknown feedback metric {name!r}."
        )
    return metric


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.single("invalid_feedback_value", "value", message)


def feedback_value(kind: str, value: Any) -> float:
    """The stored number of a submitted value, checked against the metric's kind."""
    if kind == MetricKind.BOOLEAN:
        if isinstance(value, bool) or value in (0, 1):
            return float(value)
        raise _invalid("A boolean metric takes true or false.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("The value must be a number.")
    if not math.isfinite(value) or abs(value) > 1e12:
        raise _invalid("The value must be a finite number.")
    if kind == MetricKind.RATING and (value != int(value) or not 1 <= value <= 5):
        raise _invalid("A rating is a whole number from 1 to 5.")
    return float(value)


def feedback_submit(
    *, generation: Generation, data: Mapping[str, Any], rater: str
) -> tuple[Feedback, bool]:
    """Record one rater's value; a repeat (same generation, metric, rater) replaces it.

    Safe to retry: the row is keyed by (generation, metric, rater). Returns the row and
    whether it was new. Adaptive families re-weigh after commit.
    """
    metric = _metric(generation.workspace, data["metric"])
    value = feedback_value(metric.kind, data["value"])
    rater_id = data.get("rater_id") or rater
    defaults = {
        "value": value,
        "comment": data.get("comment", ""),
        "prompt_version_id": generation.prompt_version_id,
    }
    for attempt in range(2):  # a concurrent first submit may win the insert
        try:
            with transaction.atomic():
                row, created = Feedback.objects.update_or_create(
                    generation=generation, metric=metric, rater_id=rater_id, defaults=defaults
                )
            break
        except IntegrityError:
            if attempt:
                raise
    if generation.prompt_version_id is not None:
        from .experiment import allocation_refresh_for_version

        version_id = generation.prompt_version_id
        transaction.on_commit(lambda: allocation_refresh_for_version(version_id), robust=True)
    return row, created


def feedback_list(*, generation: Generation) -> list[Feedback]:
    return list(generation.feedback.select_related("metric").order_by("created_at", "id"))
