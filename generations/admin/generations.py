"""The generation browser: the list (filters, search by id, hash or key, counts per status,
a highlighted row) and the detail page (read-only; its fields and actions in the mixins)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from core.admin_search import uuid_prefix_q

from ..models import Generation, Status
from .audit import AttemptInline, EventInline
from .filters import ErrorCodeFilter, FinishedWithinFilter, HasErrorFilter
from .generation_actions import GenerationActionsMixin
from .generation_detail import GenerationDetailMixin
from .highlight import highlight_missing, highlight_target
from .widgets import PANEL_CSS, PANEL_JS, READ_ONLY_SUBMIT_ROW, ms, status_chip


@admin.register(Generation)
class GenerationAdmin(GenerationActionsMixin, GenerationDetailMixin):
    change_list_template = "admin/generations/generation/change_list.html"
    change_form_template = "admin/generations/generation/change_form.html"
    list_display = [
        "short_id",
        "badge",
        "operation_type",
        "provider",
        "workspace",
        "strategy",
        "duration",
        "cost",
        "created_at",
    ]
    list_display_links = ["short_id"]
    list_filter = [
        "status",
        "operation_type",
        "workspace",
        "provider",
        "strategy",
        HasErrorFilter,
        ErrorCodeFilter,
        FinishedWithinFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["workspace", "provider"]
    search_fields = ["name"]
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = None
    actions = ["cancel_selected", "retry_selected", "invalidate_slots"]
    # Apps above generations add read-only inlines by dotted path (experiments: feedback).
    inlines = [
        AttemptInline,
        EventInline,
        *(import_string(p) for p in getattr(settings, "GENPIPE_GENERATION_ADMIN_INLINES", ())),
    ]
    fieldsets = [
        (
            "Generation",
            {
                "fields": [
                    "badge",
                    "id",
                    "name",
                    "operation_type",
                    "purpose",
                    "strategy",
                    "priority",
                    "links",
                ]
            },
        ),
        ("Timeline", {"fields": ["timeline"]}),
        ("Request", {"fields": ["config_json", "canonical_json", "reproducible_hash"]}),
        ("Prompt", {"fields": ["prompt_resolution"]}),
        ("Social context", {"fields": ["social_json"]}),
        ("Cache", {"fields": ["cache_key", "slot_state", "invalidated_at"]}),
        (
            "Outcome",
            {"fields": ["error_display", "result_display", "tokens_in", "tokens_out", "cost_usd"]},
        ),
        ("Related", {"fields": ["retries_list", "same_hash"]}),
    ]

    class Media:
        css = PANEL_CSS
        js = [*PANEL_JS, "devpanel/live.js"]  # live status from the event stream (SSE)

    # --- list --------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Generation]:
        # The list never shows the big JSON columns: do not load them for 50 rows.
        qs = super().get_queryset(request)
        url_name = request.resolver_match.url_name if request.resolver_match else ""
        if (url_name or "").endswith("changelist"):
            qs = qs.defer(
                "config",
                "canonical_params",
                "result",
                "social_context",
                "template_variables",
                "final_prompt",
                "description",
            )
        return qs

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Generation], search_term: str
    ) -> tuple[QuerySet[Generation], bool]:
        """Id (full, or the first 4+ hex digits the list shows), hash, cache key (exact) or
        name (contains)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(name__icontains=term) | Q(reproducible_hash=term.lower()) | Q(cache_key=term)
        prefix = uuid_prefix_q(["id"], term)
        if prefix is not None:
            condition |= prefix
        return queryset.filter(condition), False

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Generation) -> str:
        return str(obj.id)[:8]

    @admin.display(description="status", ordering="status")
    def badge(self, obj: Generation) -> SafeString:
        return status_chip(obj.status)

    @admin.display(description="duration", ordering="latency_ms")
    def duration(self, obj: Generation) -> str:
        return ms(obj.latency_ms)

    @admin.display(description="cost", ordering="cost_usd")
    def cost(self, obj: Generation) -> str:
        return f"${obj.cost_usd:.4f}" if obj.cost_usd else "—"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        highlight = request.GET.get("highlight", "").strip()
        if "highlight" in request.GET:
            params = request.GET.copy()
            del params["highlight"]
            request.GET = params  # type: ignore[assignment]  # the changelist refuses unknowns
        target = highlight_target(highlight) if highlight else None
        context = {"highlight": str(target.id) if target else highlight, **(extra_context or {})}
        response = super().changelist_view(request, extra_context=context)
        data = response.context_data if isinstance(response, TemplateResponse) else None
        if data is not None and "cl" in data:
            cl = data["cl"]
            counts = dict(cl.queryset.order_by().values_list("status").annotate(n=Count("id")))
            data["status_counts"] = [
                (
                    status,
                    counts.get(status, 0),
                    status_chip(
                        status,
                        cl.get_query_string({"status__exact": status}, remove=["p", "e"]),
                    ),
                )
                for status in Status.values
            ]
            data["status_total"] = sum(counts.values())
            if highlight:
                data["highlight_missing"] = highlight_missing(highlight, target, cl.result_list)
        return response

    # --- detail ------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Every field is read-only (the change permission is for the action buttons), so
        the page offers no Save buttons, only Close."""
        context = {**READ_ONLY_SUBMIT_ROW, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            "badge",
            "id",
            "name",
            "operation_type",
            "purpose",
            "strategy",
            "priority",
            "links",
            "timeline",
            "config_json",
            "canonical_json",
            "reproducible_hash",
            "prompt_resolution",
            "social_json",
            "cache_key",
            "slot_state",
            "invalidated_at",
            "error_display",
            "result_display",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "retries_list",
            "same_hash",
        ]
