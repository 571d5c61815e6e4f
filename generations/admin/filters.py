"""The generation list's own filters: has an error, had one given error, finished within a
telemetry window. The dev panel's counts and error types link to the list through them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from telemetry.aggregates import ERROR_WINDOW, window_starts

from ..models import ProviderAttempt


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


class ErrorCodeFilter(admin.SimpleListFilter):
    """``?error=<code>``: generations that failed with that error code, or had a provider
    attempt fail with it (a retry or a failover may have rescued them). The provider health
    page's error types link here; the sidebar shows the filter only while it is in use."""

    title = "error type"
    parameter_name = "error"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        code = self.value()
        if not code:
            return queryset
        failed_attempt = ProviderAttempt.objects.filter(
            generation=OuterRef("pk"), outcome=ProviderAttempt.Outcome.FAILED, error_code=code
        )
        return queryset.filter(Q(error_code=code) | Exists(failed_attempt))


# The windows of the telemetry figures (``telemetry.aggregates.window_starts``; errors are
# kept 7 days): the list shows the generations a figure counted.
WINDOWS = {"1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days", "ever": "any time"}


def window_start(window: str) -> Any:
    """When the telemetry window ``window`` (``1h``, ``24h``, ``7d``) starts, now."""
    now = timezone.now()
    hour_start, day_start = window_starts(now)
    return {"1h": hour_start, "24h": day_start, "7d": now - ERROR_WINDOW}[window]


class FinishedWithinFilter(admin.SimpleListFilter):
    """``?finished=1h|24h|7d``: generations that reached a terminal status inside that
    telemetry window, aligned on the same minute and hour buckets as the figures;
    ``?finished=ever``: every finished generation (the figures' all-time totals)."""

    title = "finished within"
    parameter_name = "finished"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(WINDOWS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        window = self.value()
        if window not in WINDOWS:
            return queryset
        if window == "ever":
            return queryset.filter(completed_at__isnull=False)
        return queryset.filter(completed_at__gte=window_start(window))
