"""The cache monitor: hit rates, entries, backend, and flushing slots with a preview.

Flushing goes through ``generations.services.invalidation.generation_slots_flush`` (the same
service as ``manage.py flush_generation_cache``): a first POST previews which slots would go,
a second POST with ``confirm`` deletes them and invalidates the generations filed under them,
so identical requests generate again. Only slots are ever deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from caching.flush import FlushError, FlushResult
from caching.stats import cache_stats, cache_stats_series
from generations.services.invalidation import generation_slots_flush
from telemetry.charts import line_series, stacked_columns
from telemetry.store import count_failure

from ..forms import FlushForm
from .charts import hour_rows
from .refresh import refresh_context

if TYPE_CHECKING:
    from devpanel.sites import GenpipeAdminSite

PREVIEW_LISTED = 50  # keys listed in the preview


def _flush(form: FlushForm, *, dry_run: bool) -> FlushResult:
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


def _charts() -> dict[str, Any] | None:
    """Hit rate and lookups per hour over 24 h (None when the statistics cannot be read)."""
    try:
        rows = hour_rows(cache_stats_series())
    except Exception as exc:
        count_failure("cache stats series", exc)
        return None
    for row in rows:
        rate = row["hit_rate"]
        row["hit rate"] = round(rate * 100, 1) if rate is not None else None
        row["slot hits"], row["dedup hits"] = row["hits_cache"], row["hits_dedup"]
    return {
        "hit_rate": line_series(
            rows,
            series=["hit rate"],
            label_key="label",
            unit=" %",
            peak=100,
            title="Hit rate per hour (24 h, UTC)",
        ),
        "lookups": stacked_columns(
            rows,
            series=["slot hits", "dedup hits", "misses"],
            label_key="label",
            title="Lookups per hour (24 h, UTC)",
        ),
    }


def cache_monitor_view(request: HttpRequest, *, site: GenpipeAdminSite) -> HttpResponse:
    """GET: the figures and the flush form; POST (change permission): a preview, or with
    ``confirm=yes`` the flush itself, then back to this page."""
    can_flush = site.has_panel_permission(request, change=True)
    form = FlushForm(request.POST or None)
    preview = None
    if request.method == "POST":
        if not can_flush:
            raise PermissionDenied
        if form.is_valid():
            try:
                if request.POST.get("confirm") == "yes":
                    result = _flush(form, dry_run=False)
                    messages.success(
                        request,
                        f"Deleted {result.deleted} cache slot(s); {result.invalidated} "
                        "generation(s) invalidated: identical requests generate again.",
                    )
                    return HttpResponseRedirect(reverse(f"{site.name}:genpipe_cache"))
                preview = _preview(_flush(form, dry_run=True))
            except FlushError as exc:
                form.add_error(None, str(exc))
    context = {
        **site.each_context(request),
        "title": "Cache monitor",
        "media": site.media,
        **refresh_context(request),
        "stats": cache_stats(),
        "charts": _charts(),
        "form": form,
        "preview": preview,
        "can_flush": can_flush,
    }
    return TemplateResponse(request, "admin/genpipe/cache.html", context)
