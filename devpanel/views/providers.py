"""Provider health: volume, success rate, latency, cost, errors and the circuit breakers.

The "close the breaker" buttons post to the provider admin's
``admin:generations_provider_reset_breaker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.template.response import TemplateResponse

from generations.figures import operation_report, provider_report_all, telemetry_series
from generations.models import OperationType
from telemetry.charts import grouped_bars, stacked_columns

from .charts import hour_rows

if TYPE_CHECKING:
    from devpanel.sites import GenpipeAdminSite


def provider_health_view(request: HttpRequest, *, site: GenpipeAdminSite) -> TemplateResponse:
    """Every provider's and operation type's figures over 24 h, with charts."""
    providers = provider_report_all()
    operations = [operation_report(op) for op in OperationType.values]
    operations.sort(key=lambda r: (-r["totals"]["total"], r["operation_type"]))
    latency_chart = grouped_bars(
        [
            (p["provider_id"], {f"p{n}": p["latency_ms"][f"p{n}"] for n in (50, 95, 99)})
            for p in providers
        ],
        series=["p50", "p95", "p99"],
        unit=" ms",
        title="Latency percentiles (24 h)",
    )
    volume = [
        (
            p["provider_id"],
            stacked_columns(
                hour_rows(telemetry_series(scope="provider", ident=p["provider_id"])),
                series=["completed", "failed", "cancelled"],
                label_key="label",
                title=f"{p['provider_id']}: generations per hour (24 h)",
            ),
        )
        for p in providers
        if p["totals"]["total"]
    ]
    context = {
        **site.each_context(request),
        "title": "Provider health",
        "media": site.media,
        "providers": providers,
        "operations": [o for o in operations if o["totals"]["total"]],
        "latency_chart": latency_chart,
        "volume_charts": volume,
    }
    return TemplateResponse(request, "admin/genpipe/providers.html", context)
