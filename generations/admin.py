"""Admin registrations for the generations app."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    Generation,
    GenerationEvent,
    PromptFamily,
    PromptVersion,
    Provider,
    ProviderAttempt,
    Workspace,
    WorkspaceMembership,
)


class MembershipInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "max_content_rating", "default_provider", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "adapter", "enabled", "fallback_provider"]
    list_filter = ["adapter", "enabled"]
    search_fields = ["id", "name"]


class PromptVersionInline(admin.TabularInline):
    model = PromptVersion
    extra = 0


@admin.register(PromptFamily)
class PromptFamilyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "workspace", "created_at"]
    list_select_related = ["workspace"]
    search_fields = ["slug", "title"]
    inlines = [PromptVersionInline]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class EventInline(ReadOnlyInline):
    model = GenerationEvent
    fields = readonly_fields = ("at", "from_status", "to_status", "reason", "actor")


class AttemptInline(ReadOnlyInline):
    model = ProviderAttempt
    fields = readonly_fields = (
        "attempt_number",
        "provider",
        "outcome",
        "error_code",
        "latency_ms",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "started_at",
    )


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "operation_type",
        "provider",
        "workspace",
        "strategy",
        "created_at",
    ]
    list_filter = ["status", "operation_type", "strategy", "provider"]
    list_select_related = ["workspace", "provider"]
    search_fields = ["=id", "=reproducible_hash", "=cache_key", "name"]
    show_full_result_count = False
    inlines = [AttemptInline, EventInline]
    readonly_fields = [f.name for f in Generation._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
