from django.urls import path

from . import apis

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
]
