"""Root URLs: the API under /api/v1/, its OpenAPI schema and docs, the admin, and the
liveness/readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import errors, health
from observability.views import MetricsView

# The generations API first: Django tries the patterns in order on every request, and
# these are the ones a game calls all the time. No other pattern matches their paths
# (streams' ``generations/events`` and ``generations/<id>/events`` are none of theirs).
urlpatterns = [
    path("api/v1/", include("generations.urls")),
    path("api/v1/", include("streams.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("experiments.urls")),
    path("api/v1/", include("budgets.urls")),
    path("api/v1/", include("webhooks.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]


def _api_or_html(json_view, html_view):  # type: ignore[no-untyped-def]
    """API paths get the JSON error envelope; admin pages keep Django's HTML pages."""

    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.path.startswith("/api/"):
            return json_view(request, *args, **kwargs)
        return html_view(request, *args, **kwargs)

    return view


handler400 = _api_or_html(errors.json_400, defaults.bad_request)
handler403 = _api_or_html(errors.json_403, defaults.permission_denied)
handler404 = _api_or_html(errors.json_404, defaults.page_not_found)
handler500 = _api_or_html(errors.json_500, defaults.server_error)
