"""The entry page, mirroring the design note's map of the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count
from django.http import HttpRequest
from django.template.response import TemplateResponse

from generations.models import Generation

from .refresh import refresh_context

if TYPE_CHECKING:
    from devpanel.sites import GenpipeAdminSite


def panel_view(request: HttpRequest, *, site: GenpipeAdminSite) -> TemplateResponse:
    """Links to the other pages, the count of every status and the latest generations."""
    recent = list(
        Generation.objects.select_related("provider", "workspace")
        .only(
            "id",
            "status",
            "operation_type",
            "provider__id",
            "workspace__slug",
            "created_at",
            "error_code",
        )
        .order_by("-created_at")[:10]
    )
    context = {
        **site.each_context(request),
        **refresh_context(request),
        "title": "Generation pipeline",
        "media": site.media,
        "recent": recent,
        "counts": dict(Generation.objects.values_list("status").annotate(n=Count("id"))),
    }
    return TemplateResponse(request, "admin/genpipe/panel.html", context)
