"""The read-only audit: status events and provider attempts, as lists and as the inlines
of a generation's detail page."""

from __future__ import annotations

from django.contrib import admin

from ..models import GenerationEvent, ProviderAttempt
from .widgets import ReadOnlyAdminMixin


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
