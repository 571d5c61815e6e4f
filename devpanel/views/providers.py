"""Provider health: volume, success rate, latency, cost, errors and the circuit breakers.

"Success rate" means one thing on the page: completed ÷ (completed + failed) generations
over the last 24 h, the telemetry API's ``last_24h.success_rate`` (cancelled generations
are neither). Health and the circuit breaker judge provider *calls* instead; their reasons
say so ("3 of 25 calls failed …"). Every count links to the generations it counted.

The "close the breaker" buttons post to the provider admin's
``admin:generations_provider_reset_breaker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.template.response import TemplateResponse

from generations.figures import (
    latency_series,
    operation_report,
    provider_report_all,
    telemetry_series,
)
from generations.models import OperationType
from telemetry.charts import line_series, stacked_columns

from .charts import generations_url, hour_rows
from .refresh import refresh_context

if TYPE_CHECKING:
    from devpanel.sites import GenpipeAdminSite

STATUSES = ("completed", "failed", "cancelled")


def _links(key: str, value: str) -> dict[str, Any]:
    """Links of one provider's or operation type's counts to the generation list."""
    return {
        "all": generations_url(**{key: value, "finished": "ever"}),
        "day": generations_url(**{key: value, "finished": "24h"}),
        **{
            status: generations_url(**{key: value, "status__exact": status, "finished": "24h"})
            for status in STATUSES
        },
    }


def _charts(provider_id: str) -> dict[str, Any]:
    volume = hour_rows(telemetry_series(scope="provider", ident=provider_id))
    latency = hour_rows(latency_series(scope="provider", ident=provider_id))
    return {
        "volume": stacked_columns(
            volume,
            series=list(STATUSES),
            label_key="label",
            title=f"{provider_id}: generations finished per hour (24 h, UTC)",
        ),
        "latency": line_series(
            latency,
            series=["p50", "p95", "p99"],
            label_key="label",
            unit=" ms",
            title=f"{provider_id}: latency percentiles per hour (24 h, UTC)",
        ),
    }


def provider_health_view(request: HttpRequest, *, site: GenpipeAdminSite) -> TemplateResponse:
    """Every provider's and operation type's figures, with 24 h time series per provider."""
    providers = provider_report_all()
    for report in providers:
        report["links"] = _links("provider__id__exact", report["provider_id"])
        for error in report["top_errors"]:
            error["link"] = generations_url(
                provider__id__exact=report["provider_id"], error=error["error_type"]
            )
        report["charts"] = _charts(report["provider_id"]) if report["totals"]["total"] else None
    operations = [operation_report(op) for op in OperationType.values]
    operations = [o for o in operations if o["totals"]["total"]]
    operations.sort(key=lambda r: (-r["totals"]["total"], r["operation_type"]))
    for report in operations:
        report["links"] = _links("operation_type__exact", report["operation_type"])
    context = {
        **site.each_context(request),
        **refresh_context(request),
        "title": "Provider health",
        "media": site.media,
        "providers": providers,
        "operations": operations,
    }
    return TemplateResponse(request, "admin/genpipe/providers.html", context)
