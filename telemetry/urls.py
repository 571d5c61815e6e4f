from django.urls import path

from . import apis

app_name = "telemetry"

urlpatterns = [
    path("telemetry/providers", apis.ProviderTelemetryListApi.as_view(), name="providers"),
    path(
        "telemetry/providers/<slug:provider_id>",
        apis.ProviderTelemetryDetailApi.as_view(),
        name="provider",
    ),
    path(
        "telemetry/operations/<slug:operation_type>",
        apis.OperationTelemetryApi.as_view(),
        name="operation",
    ),
]
