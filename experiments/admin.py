"""Dev panel pages of experiments: one page per prompt family, feedback on generations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from core.errors import ApiError
from generations.models import PromptFamily

from .charts import interval_chart
from .experiment import experiment_promote, experiment_report, experiment_series
from .models import Exposure, Feedback, FeedbackMetric


class FeedbackInline(admin.TabularInline):
    """Read-only feedback on the generation detail page."""

    model = Feedback
    fields = ["metric", "value", "rater_id", "comment", "updated_at"]
    readonly_fields = ["metric", "value", "rater_id", "comment", "updated_at"]
    extra = 0
    can_delete = False
    verbose_name_plural = "feedback"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["generation", "metric", "value", "rater_id", "updated_at"]
    list_filter = ["metric__name"]
    raw_id_fields = ["generation", "prompt_version"]


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ["version", "reason", "at"]
    list_select_related = ["version__family"]
    raw_id_fields = ["version", "generation"]


@admin.register(FeedbackMetric)
class FeedbackMetricAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "higher_is_better"]
    list_filter = ["workspace", "kind"]

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("panel/", wrap(self.experiments_view), name="experiments_index"),
            path("panel/<uuid:family_id>/", wrap(self.experiment_view), name="experiments_page"),
            path(
                "panel/<uuid:family_id>/promote/",
                wrap(require_POST(self.promote_view)),
                name="experiments_promote",
            ),
            *super().get_urls(),
        ]

    def experiments_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        families = PromptFamily.objects.select_related("workspace").order_by("workspace", "slug")
        context = {
            **self.admin_site.each_context(request),
            "media": getattr(self.admin_site, "media", ""),
            "title": "Experiments",
        }
        context["families"] = families
        return TemplateResponse(request, "admin/experiments/index.html", context)

    def experiment_view(self, request: HttpRequest, family_id: Any) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        family = get_object_or_404(PromptFamily, pk=family_id)
        report = experiment_report(family=family)
        context = {
            **self.admin_site.each_context(request),
            "media": getattr(self.admin_site, "media", ""),
            "title": f"Experiment: {family.slug}",
            "family": family,
            "report": report,
            "chart": interval_chart(
                experiment_series(family=family), title=f"{report['metric']} over time"
            ),
            "can_promote": request.user.has_perm("generations.change_promptversion"),
        }
        return TemplateResponse(request, "admin/experiments/experiment.html", context)

    def promote_view(self, request: HttpRequest, family_id: Any) -> HttpResponseRedirect:
        if not request.user.has_perm("generations.change_promptversion"):
            raise PermissionDenied
        family = get_object_or_404(PromptFamily, pk=family_id)
        raw = request.POST.get("version") or ""
        try:
            version = experiment_promote(
                family=family, version_number=int(raw) if raw.isdigit() else None
            )
            messages.success(request, f"Version {version.version_number} is now the only one.")
        except ApiError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:experiments_page", args=[family.pk]))
