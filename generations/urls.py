from django.urls import path

from . import apis, apis_cache, apis_telemetry

app_name = "generations"

urlpatterns = [
    path("generations", apis.GenerationListCreateApi.as_view(), name="list-create"),
    path(
        "generations/simple-image-to-video",
        apis.SimpleImageToVideoApi.as_view(),
        name="simple-image-to-video",
    ),
    path("generations/validate", apis.GenerationValidateApi.as_view(), name="validate"),
    path(
        "generations/social-context/build",
        apis.SocialContextBuildApi.as_view(),
        name="social-context-build",
    ),
    path("generations/<uuid:generation_id>", apis.GenerationDetailApi.as_view(), name="detail"),
    path(
        "generations/<uuid:generation_id>/cancel",
        apis.GenerationCancelApi.as_view(),
        name="cancel",
    ),
    path("generations/<uuid:generation_id>/retry", apis.GenerationRetryApi.as_view(), name="retry"),
    # Staff only: figures across every workspace, and cache slots.
    path(
        "generations/telemetry/providers",
        apis_telemetry.ProviderTelemetryListApi.as_view(),
        name="telemetry-providers",
    ),
    path(
        "generations/telemetry/providers/<slug:provider_id>",
        apis_telemetry.ProviderTelemetryDetailApi.as_view(),
        name="telemetry-provider",
    ),
    path(
        "generations/telemetry/operations/<slug:operation_type>",
        apis_telemetry.OperationTelemetryApi.as_view(),
        name="telemetry-operation",
    ),
    path("generations/cache/stats", apis_cache.CacheStatsApi.as_view(), name="cache-stats"),
    path("generations/cache/slots", apis_cache.CacheSlotApi.as_view(), name="cache-slots"),
]
