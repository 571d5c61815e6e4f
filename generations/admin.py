"""The dev panel: the Django admin as generation browser, detail view and entry point.

Actions (cancel, retry, invalidate the cache slot) call the same services as the API and
report what happened. Audit events and provider attempts are read-only.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from caching.services import CacheUnreachable, cache_slot_get
from genpipe_site.errors import ApiError

from .errors import InvalidTransition
from .models import (
    Generation,
    GenerationEvent,
    OperationType,
    PromptFamily,
    PromptVersion,
    Provider,
    ProviderAttempt,
    Status,
    Workspace,
    WorkspaceMembership,
)
from .services.breaker import breaker_reset, breaker_view
from .services.creation import generation_retry
from .services.invalidation import generation_slot_invalidate, generation_slots_invalidate
from .services.lifecycle import generation_cancel
from .services.prompts import placeholders

STATUS_COLOURS: dict[str, str] = {
    Status.PENDING: "#6d6d6d",
    Status.PROCESSING: "#1565c0",
    Status.COMPLETED: "#2e7d32",
    Status.FAILED: "#c62828",
    Status.CANCELLED: "#8d6e63",
}


def status_badge(status: str) -> SafeString:
    return format_html(
        '<span class="gp-badge gp-status-{}" style="background:{}">{}</span>',
        status,
        STATUS_COLOURS.get(status, "#555"),
        status,
    )


def pretty_json(value: Any) -> SafeString:
    if value in (None, {}, []):
        return format_html('<span class="quiet">{}</span>', "—")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="gp-json">{}</pre>', text)


def admin_link(obj: Any, label: str | None = None) -> SafeString:
    if obj is None:
        return format_html('<span class="quiet">{}</span>', "—")
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


# --- Workspaces, providers, prompts (editable) -------------------------------------------


class MembershipInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "max_content_rating", "default_provider", "created_at"]
    list_select_related = ["default_provider"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


class ProviderForm(forms.ModelForm):
    class Meta:
        model = Provider
        fields = [
            "id",
            "name",
            "adapter",
            "base_url",
            "credential_env_var",
            "operation_types",
            "settings",
            "price_per_1k_input_tokens",
            "price_per_1k_output_tokens",
            "price_per_image",
            "price_per_video_second",
            "connect_timeout_s",
            "read_timeout_s",
            "enabled",
            "fallback_provider",
        ]

    def clean_operation_types(self) -> list[str]:
        value = self.cleaned_data["operation_types"] or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError("A list of operation type names.")
        unknown = sorted(set(value) - set(OperationType.values))
        if unknown:
            raise forms.ValidationError(f"Unknown operation types: {', '.join(unknown)}.")
        return value

    def clean_credential_env_var(self) -> str:
        value = self.cleaned_data["credential_env_var"]
        if value and not (value.replace("_", "A").isalnum() and value.upper() == value):
            raise forms.ValidationError(
                "The NAME of an environment variable (e.g. OPENAI_API_KEY), never the secret."
            )
        return value

    def clean_settings(self) -> dict[str, Any]:
        value = self.cleaned_data["settings"] or {}
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON object.")
        rate = value.get("failure_rate", 0)
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise forms.ValidationError("failure_rate is a number from 0 to 1.")
        latency = value.get("latency_ms", 0)
        if not isinstance(latency, int) or latency < 0 or latency > 600_000:
            raise forms.ValidationError("latency_ms is a whole number of milliseconds ≥ 0.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        fallback = cleaned.get("fallback_provider")
        if fallback is not None and fallback.pk == (self.instance.pk or cleaned.get("id")):
            self.add_error("fallback_provider", "A provider cannot fall back to itself.")
        for name in (
            "price_per_1k_input_tokens",
            "price_per_1k_output_tokens",
            "price_per_image",
            "price_per_video_second",
        ):
            if cleaned.get(name) is not None and cleaned[name] < 0:
                self.add_error(name, "Prices cannot be negative.")
        return cleaned


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = [
        "id",
        "name",
        "adapter",
        "enabled",
        "circuit",
        "fallback_provider",
        "updated_at",
    ]
    list_filter = ["adapter", "enabled"]
    list_select_related = ["fallback_provider"]
    search_fields = ["id", "name"]
    actions = ["reset_breakers"]

    @admin.display(description="circuit breaker")
    def circuit(self, obj: Provider) -> str:
        view = breaker_view(provider=obj)
        if view.open_until is not None:
            return f"open until {view.open_until:%H:%M:%S} UTC"
        return view.state.replace("_", "-")

    @admin.action(description="Close the circuit breaker of the selected providers")
    def reset_breakers(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        closed = [p.id for p in queryset if breaker_reset(provider=p)]
        self.message_user(
            request,
            f"Closed the circuit breaker of {', '.join(closed)}."
            if closed
            else "Every selected breaker was already closed.",
            messages.SUCCESS if closed else messages.INFO,
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        reset = path(
            "<path:object_id>/reset-breaker/",
            wrap(self.reset_breaker_view),
            name="generations_provider_reset_breaker",
        )
        return [reset, *super().get_urls()]

    def reset_breaker_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The provider health dashboard's "close the breaker" button (POST + CSRF)."""
        if request.method != "POST":
            return HttpResponse(status=405)
        if not self.has_change_permission(request):
            raise PermissionDenied
        provider = get_object_or_404(Provider, id=object_id)
        was_open = breaker_reset(provider=provider)
        self.message_user(
            request,
            f"Closed the circuit breaker of {provider.id}."
            if was_open
            else f"The circuit breaker of {provider.id} was already closed.",
            messages.SUCCESS if was_open else messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:genpipe_providers"))


class PromptVersionForm(forms.ModelForm):
    class Meta:
        model = PromptVersion
        fields = ["family", "version_number", "template", "variables", "is_active", "weight"]

    def clean_variables(self) -> dict[str, Any]:
        value = self.cleaned_data["variables"] or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('A JSON object: {"name": "default" or null}.')
        for name, default in value.items():
            if not name.isidentifier():
                raise forms.ValidationError(f"{name!r} is not a valid variable name.")
            if default is not None and not isinstance(default, str | int | float | bool):
                raise forms.ValidationError(f"The default of {name!r} must be a scalar.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        template = cleaned.get("template") or ""
        if not template.strip():
            self.add_error("template", "The template is empty.")
        return cleaned


class PromptVersionInline(admin.TabularInline):
    model = PromptVersion
    form = PromptVersionForm
    extra = 0
    fields = ["version_number", "template", "variables", "is_active", "weight"]


@admin.register(PromptFamily)
class PromptFamilyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "workspace", "created_at"]
    list_select_related = ["workspace"]
    list_filter = ["workspace"]
    search_fields = ["slug", "title"]
    inlines = [PromptVersionInline]


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    form = PromptVersionForm
    list_display = ["family", "version_number", "is_active", "weight", "placeholder_names"]
    list_select_related = ["family"]
    list_filter = ["is_active", "family__workspace"]
    search_fields = ["family__slug", "template"]

    @admin.display(description="placeholders")
    def placeholder_names(self, obj: PromptVersion) -> str:
        return ", ".join(placeholders(obj.template))


# --- Read-only audit --------------------------------------------------------------------


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GenerationEvent)
class GenerationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "generation", "from_status", "to_status", "reason", "actor"]
    list_filter = ["to_status"]
    search_fields = ["=generation__id", "actor", "reason"]
    show_full_result_count = False


@admin.register(ProviderAttempt)
class ProviderAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "generation",
        "provider",
        "attempt_number",
        "outcome",
        "error_code",
        "latency_ms",
        "cost_usd",
    ]
    list_filter = ["outcome", "provider", "operation_type"]
    search_fields = ["=generation__id", "error_code", "provider_job_id"]
    show_full_result_count = False


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = GenerationEvent
    extra = 0
    fields = readonly_fields = ("at", "from_status", "to_status", "reason", "actor")


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProviderAttempt
    extra = 0
    fields = readonly_fields = (
        "attempt_number",
        "provider",
        "outcome",
        "error_code",
        "error_message",
        "latency_ms",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "provider_job_id",
        "started_at",
    )


# --- Generations ------------------------------------------------------------------------


class HasErrorFilter(admin.SimpleListFilter):
    title = "has error"
    parameter_name = "has_error"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With an error"), ("no", "Without")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.exclude(error_code="")
        if self.value() == "no":
            return queryset.filter(error_code="")
        return queryset


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
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
        """Id (full UUID), hash, cache key (exact) or name (contains)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(name__icontains=term) | Q(reproducible_hash=term.lower()) | Q(cache_key=term)
        with contextlib.suppress(ValueError):
            condition |= Q(id=uuid.UUID(term))
        return queryset.filter(condition), False

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Generation) -> str:
        return str(obj.id)[:8]

    @admin.display(description="status", ordering="status")
    def badge(self, obj: Generation) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description="duration", ordering="latency_ms")
    def duration(self, obj: Generation) -> str:
        return ms(obj.latency_ms)

    @admin.display(description="cost", ordering="cost_usd")
    def cost(self, obj: Generation) -> str:
        return f"${obj.cost_usd:.4f}" if obj.cost_usd else "—"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        highlight = request.GET.get("highlight", "")
        if "highlight" in request.GET:
            params = request.GET.copy()
            del params["highlight"]
            request.GET = params  # type: ignore[assignment]  # the changelist refuses unknowns
        context = {"highlight": highlight, **(extra_context or {})}
        response = super().changelist_view(request, extra_context=context)
        data = response.context_data if isinstance(response, TemplateResponse) else None
        if data is not None and "cl" in data:
            cl = data["cl"]
            counts = dict(cl.queryset.order_by().values_list("status").annotate(n=Count("id")))
            data["status_counts"] = [
                (status, counts.get(status, 0), status_badge(status)) for status in Status.values
            ]
            data["status_total"] = sum(counts.values())
        return response

    # --- detail ------------------------------------------------------------------------

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

    @admin.display(description="links")
    def links(self, obj: Generation) -> SafeString:
        parts = [
            ("workspace", admin_link(obj.workspace)),
            ("provider", admin_link(obj.provider)),
            ("prompt version", admin_link(obj.prompt_version)),
            ("parent", admin_link(obj.parent, str(obj.parent_id)[:8] if obj.parent_id else None)),
        ]
        return format_html_join(" · ", "{}: {}", parts)

    @admin.display(description="timeline")
    def timeline(self, obj: Generation) -> SafeString:
        rows: list[tuple[str, datetime, float | None]] = [("created", obj.created_at, None)]
        if obj.started_at:
            rows.append(
                (
                    "started",
                    obj.started_at,
                    (obj.started_at - obj.created_at).total_seconds() * 1000,
                )
            )
        if obj.completed_at:
            since = obj.started_at or obj.created_at
            rows.append(
                (obj.status, obj.completed_at, (obj.completed_at - since).total_seconds() * 1000)
            )
        return format_html(
            '<table class="gp-timeline">{}</table>',
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                (
                    (
                        label,
                        at.isoformat(timespec="milliseconds"),
                        "+" + ms(delta) if delta is not None else "",
                    )
                    for label, at, delta in rows
                ),
            ),
        )

    @admin.display(description="submitted request")
    def config_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.config)

    @admin.display(description="canonical params")
    def canonical_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.canonical_params)

    @admin.display(description="social context")
    def social_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.social_context)

    @admin.display(description="resolution")
    def prompt_resolution(self, obj: Generation) -> SafeString:
        source = "prompt version" if obj.prompt_version_id else "inline"
        family = obj.prompt_version.family if obj.prompt_version else None
        return format_html(
            "<p>Source: {} {}</p><p>Variables:</p>{}<p>Final prompt:</p>"
            '<pre class="gp-json">{}</pre>',
            source,
            admin_link(obj.prompt_version, f"{family.slug} v{obj.prompt_version.version_number}")
            if obj.prompt_version and family
            else "",
            pretty_json(obj.template_variables),
            obj.final_prompt or "—",
        )

    @admin.display(description="slot state")
    def slot_state(self, obj: Generation) -> SafeString:
        if not obj.cache_key:
            return format_html("{}", "no slot (strategy always)")
        holder = cache_slot_get(workspace_id=obj.workspace_id, key=obj.cache_key)
        if holder is None:
            return format_html("{}", "empty (expired, flushed or released)")
        if holder == str(obj.id):
            return format_html("<strong>{}</strong>", "held by this generation")
        other = Generation.objects.filter(id=holder).first()
        return format_html("held by {}", admin_link(other, holder[:8]) if other else holder)

    @admin.display(description="error")
    def error_display(self, obj: Generation) -> SafeString:
        if not obj.error_code:
            return format_html("{}", "—")
        return format_html("<code>{}</code> {}", obj.error_code, obj.error_message)

    @admin.display(description="result")
    def result_display(self, obj: Generation) -> SafeString:
        result = obj.result or {}
        preview = SafeString("")
        media = str(result.get("media_url") or "")
        if media.startswith(("data:image/", "https://", "http://")):
            preview = format_html('<img class="gp-preview" src="{}" alt="result">', media)
        if result.get("text"):
            preview = format_html("<blockquote>{}</blockquote>", result["text"])
        shown = {
            k: (v if k != "media_url" or len(str(v)) < 200 else str(v)[:200] + "…")
            for k, v in result.items()
        }
        return format_html("{}{}", preview, pretty_json(shown))

    @admin.display(description="retries")
    def retries_list(self, obj: Generation) -> SafeString:
        retries = list(obj.retries.only("id", "status")[:20])
        if not retries:
            return format_html("{}", "—")
        return format_html_join(
            ", ", "{} {}", ((admin_link(r, str(r.id)[:8]), status_badge(r.status)) for r in retries)
        )

    @admin.display(description="same hash")
    def same_hash(self, obj: Generation) -> SafeString:
        siblings = list(
            Generation.objects.filter(
                workspace_id=obj.workspace_id, reproducible_hash=obj.reproducible_hash
            )
            .exclude(id=obj.id)
            .only("id", "status")
            .order_by("-created_at")[:20]
        )
        if not siblings:
            return format_html("{}", "—")
        return format_html_join(
            ", ",
            "{} {}",
            ((admin_link(s, str(s.id)[:8]), status_badge(s.status)) for s in siblings),
        )

    # --- actions -----------------------------------------------------------------------

    def _require_change(self, request: HttpRequest) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied

    @admin.action(description="Cancel selected generations", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        done, refused = 0, 0
        for generation in queryset:
            try:
                generation_cancel(generation=generation, actor=f"admin:{request.user}")
                done += 1
            except InvalidTransition:
                refused += 1
        self.message_user(
            request,
            f"Cancelled {done}; {refused} were already finished.",
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(description="Retry selected generations", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        created, refused = [], 0
        for generation in queryset.select_related("workspace"):
            try:
                created.append(generation_retry(generation=generation, user=request.user))
            except ApiError:
                refused += 1
        self.message_user(
            request,
            f"Created {len(created)} retries; {refused} were not failed or cancelled.",
            messages.SUCCESS if created else messages.WARNING,
        )

    @admin.action(description="Invalidate their cache slots", permissions=["change"])
    def invalidate_slots(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        slots = (
            (workspace_id, key)
            for workspace_id, key in queryset.order_by()
            .values_list("workspace_id", "cache_key")
            .distinct()
            .iterator()
            if key
        )
        try:
            outcome = generation_slots_invalidate(slots=slots)
        except CacheUnreachable as exc:
            self.message_user(request, f"Not invalidated: {exc.message}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Deleted {outcome.deleted} cache slot(s); {outcome.invalidated} generation(s) "
            "invalidated: identical requests generate again.",
            messages.SUCCESS,
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        urls = [
            path(
                "<uuid:object_id>/do/<slug:action>/",
                wrap(self.object_action),
                name="generations_generation_action",
            ),
            path("panel/", wrap(self.panel_view), name="genpipe_panel"),
        ]
        from caching.admin import cache_monitor_urls
        from telemetry.admin import telemetry_urls

        return urls + telemetry_urls(self) + cache_monitor_urls(self) + super().get_urls()

    def object_action(
        self, request: HttpRequest, object_id: uuid.UUID, action: str
    ) -> HttpResponse:
        """POST-only buttons of the detail page (CSRF-checked by the admin)."""
        if request.method != "POST":
            return HttpResponse(status=405)
        self._require_change(request)
        generation = get_object_or_404(Generation, id=object_id)
        target = reverse("admin:generations_generation_change", args=[generation.id])
        try:
            if action == "cancel":
                generation_cancel(generation=generation, actor=f"admin:{request.user}")
                self.message_user(request, "Cancelled.", messages.SUCCESS)
            elif action == "retry":
                outcome = generation_retry(generation=generation, user=request.user)
                self.message_user(
                    request, f"Retry {outcome.generation.id} created.", messages.SUCCESS
                )
                target = reverse(
                    "admin:generations_generation_change", args=[outcome.generation.id]
                )
            elif action == "invalidate":
                self._invalidate(request, generation)
            else:
                return HttpResponse(status=404)
        except CacheUnreachable as exc:
            self.message_user(request, f"Not invalidated: {exc.message}", messages.ERROR)
        except ApiError as exc:
            self.message_user(request, f"Refused: {exc.message}", messages.ERROR)
        return HttpResponseRedirect(target)

    def _invalidate(self, request: HttpRequest, generation: Generation) -> None:
        if not generation.cache_key:
            self.message_user(request, "No cache slot (strategy always).", messages.WARNING)
            return
        outcome = generation_slot_invalidate(  # CacheUnreachable: reported by the caller
            workspace_id=generation.workspace_id, key=generation.cache_key
        )
        slot = "Cache slot deleted" if outcome.deleted else "The slot was already empty"
        self.message_user(
            request,
            f"{slot}; {outcome.invalidated} generation(s) invalidated: the next identical "
            "request generates again.",
            messages.SUCCESS,
        )

    def panel_view(self, request: HttpRequest) -> TemplateResponse:
        """The entry page mirroring the design note's map of the pipeline."""
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
            **self.admin_site.each_context(request),
            "title": "Generation pipeline",
            "recent": [(g, status_badge(g.status)) for g in recent],
            "counts": dict(Generation.objects.values_list("status").annotate(n=Count("id"))),
        }
        return TemplateResponse(request, "admin/genpipe/panel.html", context)
