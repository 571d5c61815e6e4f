"""Dev-panel pages for webhook endpoints and deliveries. No page shows a secret: the
sealed columns are not editable fields, and endpoints are registered through the API
(which shows the secret once)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from core.admin_display import precise_time

from .errors import WebhookEndpointDisabled
from .models import Delivery, DeliveryAttempt, Endpoint
from .services.deliveries import delivery_redeliver
from .services.endpoints import endpoint_update


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "workspace",
        "url",
        "enabled",
        "failure_streak",
        "disabled_reason",
        "created_at",
    )
    list_filter = ("enabled", "disabled_reason")
    list_select_related = ("workspace",)
    search_fields = ("url", "description")
    fields = (
        "workspace",
        "url",
        "events",
        "enabled",
        "description",
        "failure_streak",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "workspace",
        "url",
        "events",
        "failure_streak",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registered through the API, which checks the URL and shows the secret

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        current = Endpoint.objects.get(pk=obj.pk)
        enabled, description = obj.enabled, obj.description
        endpoint_update(
            endpoint=current,
            data={"enabled": enabled, "description": description},
            now=timezone.now(),
        )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "attempted", "outcome", "status_code", "latency_ms", "error")
    readonly_fields = fields

    @admin.display(description="attempted at")
    def attempted(self, obj: DeliveryAttempt) -> SafeString:
        return precise_time(obj.attempted_at)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "webhook_id",
        "endpoint",
        "event_type",
        "state",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("state", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("webhook_id",)
    show_full_result_count = False
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]
    readonly_fields = (
        "endpoint",
        "event",
        "budget_alert",
        "webhook_id",
        "event_type",
        "body",
        "state",
        "attempt_count",
        "schedule_position",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "updated_at",
        "completed_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries now")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        sent = skipped = 0
        now = timezone.now()
        for delivery in queryset.select_related("endpoint"):
            try:
                delivery_redeliver(delivery=delivery, now=now)
                sent += 1
            except WebhookEndpointDisabled:
                skipped += 1
        self.message_user(request, f"{sent} deliveries queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: their endpoint is disabled.", messages.WARNING
            )
