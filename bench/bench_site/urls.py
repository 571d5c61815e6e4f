"""The product's URLs unchanged, plus ``/bench/noop`` and ``/bench/insert``."""

from __future__ import annotations

from django.urls import include, path

from genpipe_site.urls import handler400, handler403, handler404, handler500

from . import views

urlpatterns = [
    path("bench/noop", views.NoopApi.as_view(), name="bench-noop"),
    path("bench/insert", views.InsertApi.as_view(), name="bench-insert"),
    path("", include("genpipe_site.urls")),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
