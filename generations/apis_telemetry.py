"""Telemetry endpoints (staff only: they aggregate every workspace's traffic)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound

from .figures import operation_report, provider_report, provider_report_all
from .models import OperationType, Provider


class ProviderTelemetryListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Every provider's figures, busiest first",
        operation_id="telemetry_providers_list",
    )
    def get(self, request: Request) -> Response:
        return Response({"results": provider_report_all()})


class ProviderTelemetryDetailApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One provider's figures and health")
    def get(self, request: Request, provider_id: str) -> Response:
        provider = Provider.objects.filter(id=provider_id).first()
        if provider is None:
            raise NotFound("Unknown provider.", code="provider_not_found")
        return Response(provider_report(provider))


class OperationTelemetryApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One operation type's figures")
    def get(self, request: Request, operation_type: str) -> Response:
        if operation_type not in OperationType.values:
            raise NotFound("Unknown operation type.", code="operation_type_not_found")
        return Response(operation_report(operation_type))
