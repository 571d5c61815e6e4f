"""Dev panel pages of telemetry: the provider health dashboard and validation health.

They hang off the generations admin (``GenerationAdmin.get_urls``), so they share its
staff-only, permission-checked ``admin_view`` wrapping.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from core.inputs import json_value_check
from generations.figures import operation_report, provider_report_all, telemetry_series
from generations.models import OperationType, Workspace

from .charts import grouped_bars, stacked_columns
from .validation import validation_outcomes


def telemetry_urls(model_admin: Any) -> list[URLPattern]:
    wrap = model_admin.admin_site.admin_view

    def guarded(view: Any) -> Any:
        def inner(request: HttpRequest) -> TemplateResponse:
            if not model_admin.has_view_permission(request):
                raise PermissionDenied
            return view(request, model_admin)

        return wrap(inner)

    return [
        path("panel/providers/", guarded(provider_health_view), name="genpipe_providers"),
        path("panel/validation/", guarded(validation_health_view), name="genpipe_validation"),
    ]


def _hour_rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "label": row["hour"].strftime("%H:00")} for row in series]


def provider_health_view(request: HttpRequest, model_admin: Any) -> TemplateResponse:
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
                _hour_rows(telemetry_series(scope="provider", ident=p["provider_id"])),
                series=["completed", "failed", "cancelled"],
                label_key="label",
                title=f"{p['provider_id']}: generations per hour (24 h)",
            ),
        )
        for p in providers
        if p["totals"]["total"]
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Provider health",
        "providers": providers,
        "operations": [o for o in operations if o["totals"]["total"]],
        "latency_chart": latency_chart,
        "volume_charts": volume,
    }
    return TemplateResponse(request, "admin/genpipe/providers.html", context)


class ValidateForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.all())
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90, "class": "gp-code"}),
        help_text="A node config, or a whole create request with a 'config' key (JSON; "
        "camelCase accepted).",
    )

    def clean_body(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["body"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON object.")
        bad = json_value_check(value)
        if bad is not None:
            raise forms.ValidationError(f"{bad.field}: {bad.message}", code=bad.code)
        return value


def validation_health_view(request: HttpRequest, model_admin: Any) -> TemplateResponse:
    from generations.validation_form import validate_pasted

    form = ValidateForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = validate_pasted(
            workspace=form.cleaned_data["workspace"], body=form.cleaned_data["body"]
        )
    outcomes = validation_outcomes()
    chart = (
        stacked_columns(
            _hour_rows(outcomes["series"]),
            series=["valid", "invalid"],
            label_key="label",
            title="Validation outcomes per hour (24 h)",
        )
        if outcomes["available"]
        else None
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Validation health",
        "form": form,
        "report": report,
        "outcomes": outcomes,
        "chart": chart,
    }
    return TemplateResponse(request, "admin/genpipe/validation.html", context)
