"""Cache endpoints (staff only)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .stats import cache_stats


class CacheStatsApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Hit rate, entries and backend")
    def get(self, request: Request) -> Response:
        return Response(cache_stats())
