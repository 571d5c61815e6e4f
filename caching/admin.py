"""Dev panel page of the cache: hit rates, entries, backend, flush with preview.

Flushing goes through ``generations.services.invalidation.generation_slots_flush`` (the same
service as ``manage.py flush_generation_cache``): a first POST previews which slots would go,
a second POST with ``confirm`` deletes them and invalidates the generations filed under them,
so identical requests generate again. Only slots are ever deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from generations.models import Strategy, Workspace

from .flush import FlushError, FlushResult
from .stats import cache_stats

PREVIEW_LISTED = 50  # keys listed in the preview


class FlushForm(forms.Form):
    strategy = forms.ChoiceField(
        choices=[("", "any strategy")] + [c for c in Strategy.choices if c[0] != "always"],
        required=False,
    )
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.all(), required=False, empty_label="any workspace"
    )
    scene = forms.CharField(required=False, max_length=200, help_text="From or to scene id.")
    key = forms.CharField(required=False, max_length=600, help_text="One full cache key.")
    everything = forms.BooleanField(required=False, label="Every slot")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [cleaned.get(k) for k in ("strategy", "workspace", "scene", "key")]
        if not any(chosen) and not cleaned.get("everything"):
            raise forms.ValidationError("Choose a filter, or tick 'Every slot'.")
        return cleaned


def cache_monitor_urls(model_admin: Any) -> list[URLPattern]:
    def view(request: HttpRequest) -> HttpResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        return cache_monitor_view(request, model_admin)

    return [path("panel/cache/", model_admin.admin_site.admin_view(view), name="genpipe_cache")]


def _flush(form: FlushForm, *, dry_run: bool) -> FlushResult:
    from generations.services.invalidation import generation_slots_flush

    data = form.cleaned_data
    workspace = data.get("workspace")
    return generation_slots_flush(
        strategy=data.get("strategy") or None,
        workspace_id=workspace.id if workspace else None,
        scene=data.get("scene") or None,
        key=data.get("key") or None,
        dry_run=dry_run,
        sample_size=PREVIEW_LISTED,
    )


def _preview(result: FlushResult) -> dict[str, Any]:
    # Plain values for the template: it resolves ``by_strategy.items`` as a key lookup
    # first, and a Counter answers 0 for any missing key.
    return {
        "matched": result.matched,
        "by_strategy": sorted(result.by_strategy.items()),
        "sample": [(slot.workspace_id, slot.cache_key) for slot in result.sample],
        "more": result.matched - len(result.sample),
    }


def cache_monitor_view(request: HttpRequest, model_admin: Any) -> HttpResponse:
    form = FlushForm(request.POST or None)
    preview = None
    if request.method == "POST":
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        if form.is_valid():
            try:
                if request.POST.get("confirm") == "yes":
                    result = _flush(form, dry_run=False)
                    model_admin.message_user(
                        request,
                        f"Deleted {result.deleted} cache slot(s); {result.invalidated} "
                        "generation(s) invalidated: identical requests generate again.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:genpipe_cache"))
                preview = _preview(_flush(form, dry_run=True))
            except FlushError as exc:
                form.add_error(None, str(exc))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Cache monitor",
        "stats": cache_stats(),
        "form": form,
        "preview": preview,
        "can_flush": model_admin.has_change_permission(request),
    }
    return TemplateResponse(request, "admin/genpipe/cache.html", context)
