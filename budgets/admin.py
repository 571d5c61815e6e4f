"""Admin pages of budgets, alerts and the ledger, and the dev panel's spend page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.db.models.functions import TruncDay
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from core.admin_search import UuidPrefixSearchMixin
from generations.models import ProviderAttempt, Workspace
from telemetry.charts import grouped_bars, stacked_columns

from .models import Budget, BudgetAlert, BudgetEntry, ReuseSaving
from .money import to_micros
from .savings import reuse_savings_flush
from .services import budget_figures


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "workspace",
        "provider",
        "operation_type",
        "limit_usd",
        "period",
        "mode",
        "figures",
    ]
    list_filter = ["period", "mode", "workspace"]
    readonly_fields = ["figures", "created_at", "updated_at"]

    @admin.display(description="spent / reserved")
    def figures(self, obj: Budget) -> str:
        if obj.pk is None:
            return "—"
        figures = budget_figures(obj)
        return f"${figures.spent_usd} / ${figures.reserved_usd} of ${obj.limit_usd}"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.spend_view)
        return [path("spend/", view, name="genpipe_spend"), *super().get_urls()]

    def spend_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, "admin/budgets/spend.html", spend_context(self, request))


def spend_context(model_admin: Any, request: HttpRequest, days: int = 14) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=days)
    attempts = ProviderAttempt.objects.filter(started_at__gte=since)
    workspaces = {w.id: w.slug for w in Workspace.objects.all()}
    per_day: dict[str, dict[str, float]] = {}
    for row in (
        attempts.annotate(day=TruncDay("started_at"))
        .values("day", "generation__workspace_id")
        .annotate(cost=Sum("cost_usd"))
        .order_by("day")
    ):
        label = row["day"].strftime("%m-%d")
        slug = workspaces.get(row["generation__workspace_id"], "?")
        per_day.setdefault(label, {})[slug] = float(row["cost"] or 0)
    slugs = sorted({s for data in per_day.values() for s in data})
    over_time = stacked_columns(
        [{"label": day, **data} for day, data in per_day.items()],
        series=slugs,
        label_key="label",
        title=f"Spend per day and workspace, USD ({days} days)",
    )

    def by(field: str) -> list[dict[str, Any]]:
        rows = attempts.values(field).annotate(cost=Sum("cost_usd")).order_by("-cost")
        return [{"key": r[field], "cost": r["cost"] or Decimal("0")} for r in rows]

    by_provider, by_operation = by("provider_id"), by("operation_type")
    provider_chart = grouped_bars(
        [(r["key"], {"cost": float(r["cost"])}) for r in by_provider],
        series=["cost"],
        unit=" $",
        title="Spend by provider",
    )
    gauges = []
    for budget in Budget.objects.select_related("workspace", "provider"):
        figures = budget_figures(budget)
        limit = to_micros(budget.limit_usd) or 1
        used = to_micros(figures.spent_usd) + to_micros(figures.reserved_usd)
        gauges.append(
            {
                "budget": budget,
                "figures": figures,
                "percent": min(100, round(100 * used / limit)),
                "spent_percent": min(100, round(100 * to_micros(figures.spent_usd) / limit)),
            }
        )
    reuse_savings_flush()  # this process's last interval too (budgets.savings)
    saved = ReuseSaving.objects.filter(day__gte=since.date()).aggregate(
        saved=Sum("saved_usd"), reused=Sum("reused")
    )
    return {
        **model_admin.admin_site.each_context(request),
        "title": "Spend and budgets",
        "over_time": over_time,
        "by_provider": by_provider,
        "by_operation": by_operation,
        "provider_chart": provider_chart,
        "gauges": gauges,
        "saved_usd": saved["saved"] or Decimal("0"),
        "reused": saved["reused"] or 0,
        "alerts": BudgetAlert.objects.select_related("budget__workspace")[:20],
        "days": days,
    }


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "budget", "kind", "threshold", "spent_usd", "limit_usd"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in BudgetAlert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of what happened: shown with Close, never a Save button


@admin.register(BudgetEntry)
class BudgetEntryAdmin(UuidPrefixSearchMixin, admin.ModelAdmin):
    list_display = ["at", "budget", "kind", "amount_micros", "generation_id", "period_start"]
    list_filter = ["kind"]
    search_fields = ["=generation_id"]
    uuid_prefix_fields = ("generation_id",)
    readonly_fields = [f.name for f in BudgetEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
