"""The read-only audit: status events and provider attempts, as lists and as the inlines
of a generation's detail page. Times show seconds and milliseconds; the generation column
shows the short id the search box takes back."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin_search import UuidPrefixSearchMixin

from ..models import GenerationEvent, ProviderAttempt
from .widgets import ReadOnlyAdminMixin, precise_time, short_id


class GenerationColumnMixin:
    @admin.display(description="generation", ordering="generation_id")
    def generation_short(self, obj: GenerationEvent | ProviderAttempt) -> SafeString:
        """The generation's short id, linked by its id alone: the list never loads the
        generation rows (their JSON columns are big)."""
        url = reverse("admin:generations_generation_change", args=[obj.generation_id])
        return format_html('<a href="{}">{}</a>', url, short_id(obj.generation_id))


@admin.register(GenerationEvent)
class GenerationEventAdmin(
    UuidPrefixSearchMixin, ReadOnlyAdminMixin, GenerationColumnMixin, admin.ModelAdmin
):
    list_display = ["at_precise", "generation_short", "from_status", "to_status", "reason", "actor"]
    list_filter = ["to_status"]
    search_fields = ["actor", "reason"]
    uuid_prefix_fields = ("generation_id",)
    show_full_result_count = False
    fields = readonly_fields = (
        "generation",
        "at_precise",
        "from_status",
        "to_status",
        "reason",
        "actor",
    )

    @admin.display(description="at", ordering="at")
    def at_precise(self, obj: GenerationEvent) -> SafeString:
        return precise_time(obj.at)


@admin.register(ProviderAttempt)
class ProviderAttemptAdmin(
    UuidPrefixSearchMixin, ReadOnlyAdminMixin, GenerationColumnMixin, admin.ModelAdmin
):
    list_display = [
        "started_precise",
        "generation_short",
        "provider",
        "attempt_number",
        "outcome",
        "error_code",
        "latency_ms",
        "cost_usd",
    ]
    list_filter = ["outcome", "provider", "operation_type"]
    list_select_related = ["provider"]
    search_fields = ["error_code", "provider_job_id"]
    uuid_prefix_fields = ("generation_id",)
    show_full_result_count = False
    exclude = ("started_at", "finished_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [f.name for f in ProviderAttempt._meta.fields if f.name not in self.exclude]
        return [*names, "started_precise", "finished_precise"]

    @admin.display(description="started", ordering="started_at")
    def started_precise(self, obj: ProviderAttempt) -> SafeString:
        return precise_time(obj.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished_precise(self, obj: ProviderAttempt) -> SafeString:
        return precise_time(obj.finished_at)


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = GenerationEvent
    extra = 0
    fields = readonly_fields = ("at_precise", "from_status", "to_status", "reason", "actor")

    @admin.display(description="at")
    def at_precise(self, obj: GenerationEvent) -> SafeString:
        return precise_time(obj.at)


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
        "started_precise",
        "finished_precise",
    )

    @admin.display(description="started")
    def started_precise(self, obj: ProviderAttempt) -> SafeString:
        return precise_time(obj.started_at)

    @admin.display(description="finished")
    def finished_precise(self, obj: ProviderAttempt) -> SafeString:
        return precise_time(obj.finished_at)
