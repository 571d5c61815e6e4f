"""genpipe's admin site: the model admins of every app plus the dev panel's own pages.

It is the default site (``devpanel.apps.DevpanelAdminConfig``), named ``admin`` like
Django's, so ``admin.site``, ``@admin.register`` and every ``reverse("admin:…")`` work
unchanged. The pages live under ``/admin/panel/``; their first home under the generation
list (``/admin/generations/generation/panel/…``) redirects there for good.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path
from django.views.generic import RedirectView

from generations.models import Generation

from .views import cache, panel, providers, validation

PanelView = Callable[..., HttpResponse]

# (path under /admin/panel/, URL name, view): the pages of the panel.
PAGES: list[tuple[str, str, PanelView]] = [
    ("", "genpipe_panel", panel.panel_view),
    ("providers/", "genpipe_providers", providers.provider_health_view),
    ("cache/", "genpipe_cache", cache.cache_monitor_view),
    ("validation/", "genpipe_validation", validation.validation_health_view),
]
PANEL_PREFIX = "panel/"
LEGACY_PREFIX = "generations/generation/panel/"  # where the pages hung until the site existed


class GenpipeAdminSite(admin.AdminSite):
    @property
    def media(self) -> forms.Media:
        """The panel's stylesheet and its dashboards' auto-refresh, for the site's pages
        (``{{ media }}`` in their head)."""
        return forms.Media(css={"all": ["devpanel/devpanel.css"]}, js=["devpanel/refresh.js"])

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """The admin index, with the panel's links (``templates/admin/index.html``)."""
        return super().index(request, {"media": self.media, **(extra_context or {})})

    def has_panel_permission(self, request: HttpRequest, *, change: bool = False) -> bool:
        """The one permission rule of the panel's pages. Seeing them takes the view or change
        permission on generations (as the generation list does); what changes data (flushing
        the cache) takes the change permission."""
        opts = Generation._meta
        actions = ["change"] if change else ["view", "change"]
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in actions
        )

    def panel_view(self, view: PanelView) -> Callable[[HttpRequest], HttpResponse]:
        """A panel page behind the admin's login (``admin_view``: staff only, no caching,
        CSRF-protected) and :meth:`has_panel_permission`; the view gets the site."""

        def page(request: HttpRequest) -> HttpResponse:
            if not self.has_panel_permission(request):
                raise PermissionDenied
            return view(request, site=self)

        page.__name__ = page.__qualname__ = view.__name__
        page.__doc__ = view.__doc__
        return self.admin_view(page)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        pages = [
            path(PANEL_PREFIX + route, self.panel_view(view), name=name)
            for route, name, view in PAGES
        ]
        legacy = [
            path(
                LEGACY_PREFIX + route,
                RedirectView.as_view(
                    pattern_name=f"{self.name}:{name}", permanent=True, query_string=True
                ),
            )
            for route, name, _view in PAGES
        ]
        # Before the model admins' URLs: the old paths would match the generation admin's
        # "<object_id>/" redirect otherwise.
        return [*pages, *legacy, *super().get_urls()]
