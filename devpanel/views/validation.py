"""Validation health: outcomes over time, issues by rule, and an interactive validator that
runs the API's validator on a pasted config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.template.response import TemplateResponse

from generations.validation_form import validate_pasted
from telemetry.charts import stacked_columns
from telemetry.validation import validation_outcomes

from ..forms import ValidateForm
from .charts import hour_rows
from .refresh import refresh_context

if TYPE_CHECKING:
    from devpanel.sites import GenpipeAdminSite


def validation_health_view(request: HttpRequest, *, site: GenpipeAdminSite) -> TemplateResponse:
    """GET: the figures and an empty validator; POST: the same with the pasted config's
    report (validating changes nothing, so viewing the panel is permission enough)."""
    form = ValidateForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = validate_pasted(
            workspace=form.cleaned_data["workspace"], body=form.cleaned_data["body"]
        )
    outcomes = validation_outcomes()
    chart = (
        stacked_columns(
            hour_rows(outcomes["series"]),
            series=["valid", "invalid"],
            label_key="label",
            title="Validation outcomes per hour (24 h)",
        )
        if outcomes["available"]
        else None
    )
    context = {
        **site.each_context(request),
        **refresh_context(request),
        "title": "Validation health",
        "media": site.media,
        "form": form,
        "report": report,
        "outcomes": outcomes,
        "chart": chart,
    }
    return TemplateResponse(request, "admin/genpipe/validation.html", context)
