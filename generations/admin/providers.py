"""Providers (editable, validated) and their circuit breakers: the list shows each breaker,
an action and the provider health dashboard's button close them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from ..models import OperationType, Provider
from ..services.breaker import breaker_reset, breaker_view


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fallback = self.fields.get("fallback_provider")
        if fallback is not None and self.instance.pk:
            # A provider cannot fall back to itself: do not offer it.
            queryset = Provider.objects.exclude(pk=self.instance.pk)
            fallback.queryset = queryset  # type: ignore[attr-defined]

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
