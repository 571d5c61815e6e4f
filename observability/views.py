"""``GET /metrics``: the Prometheus text format, for staff or the configured bearer.

Who may scrape: a request carrying ``Authorization: Bearer <GENPIPE_METRICS_TOKEN>``
(when that setting is non-empty), or a staff user (``Authorization: Token <key>`` of a
staff user's API token, or a staff session). Anyone else gets the JSON error envelope:
401 without credentials or with a wrong bearer, 403 for a non-staff user.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client import multiprocess as mp
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from . import metrics as _metrics  # noqa: F401  (defines the families in this process)
from .collector import FiguresCollector
from .worker import multiprocess_dir

BEARER = "metrics-bearer"


class MetricsBearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <GENPIPE_METRICS_TOKEN>``, compared in constant time."""

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        expected = str(getattr(settings, "GENPIPE_METRICS_TOKEN", "") or "")
        given = header[1] if len(header) == 2 else b""
        if not expected or not hmac.compare_digest(given, expected.encode()):
            raise exceptions.AuthenticationFailed("Invalid metrics bearer token.")
        return AnonymousUser(), BEARER

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="metrics"'


class StaffOrMetricsBearer(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.auth == BEARER or bool(request.user and request.user.is_staff)


class _ThisProcess(Collector):
    """The process's own registry (no ``PROMETHEUS_MULTIPROC_DIR``: one process)."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def scrape_registry() -> CollectorRegistry:
    """Every process's metrics (multiprocess files, or this process) and the scrape-time
    figures."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        mp.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(FiguresCollector())
    return registry


class MetricsView(APIView):
    authentication_classes = [
        MetricsBearerAuthentication,
        authentication.TokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [StaffOrMetricsBearer]
    throttle_classes: list[Any] = []
    schema = None  # not part of the JSON API (docs/metrics.md documents it)

    def get(self, request: Request) -> HttpResponse:
        # The Prometheus text format, or OpenMetrics when the scraper asks for it.
        encode, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
        return HttpResponse(encode(scrape_registry()), content_type=content_type)
