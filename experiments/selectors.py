"""Reads of feedback for other apps' reports (telemetry's provider figures)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count

from generations.models import Provider

from .models import Feedback


def provider_feedback(provider: Provider) -> dict[str, dict[str, Any]]:
    """``TELEMETRY_PROVIDER_EXTRAS``: each metric's mean over the provider's generations."""
    rows = (
        Feedback.objects.filter(generation__provider=provider)
        .values("metric__name")
        .annotate(n=Count("id"), mean=Avg("value"))
        .order_by("metric__name")
    )
    return {r["metric__name"]: {"n": r["n"], "mean": round(r["mean"], 3)} for r in rows}
