"""What a staff user can do to generations: the list's actions (cancel, retry, invalidate
the cache slots) and the detail page's buttons, calling the same services as the API.

Every one needs the ``change`` permission; the buttons are POST-only and CSRF-checked.
"""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from caching.services import CacheUnreachable
from core.errors import ApiError

from ..errors import InvalidTransition
from ..models import Generation
from ..services.creation import generation_retry
from ..services.invalidation import generation_slot_invalidate, generation_slots_invalidate
from ..services.lifecycle import generation_cancel


class GenerationActionsMixin(admin.ModelAdmin):
    """The actions, the buttons' view and its URL (``admin:generations_generation_action``)."""

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
        action = path(
            "<uuid:object_id>/do/<slug:action>/",
            self.admin_site.admin_view(self.object_action),
            name="generations_generation_action",
        )
        return [action, *super().get_urls()]

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
