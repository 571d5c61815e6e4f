from django.urls import path

from . import apis

app_name = "experiments"

_FAMILY = "prompt-families/<slug:slug>"
_VERSION = _FAMILY + "/versions/<int:number>"

urlpatterns = [
    path("prompt-families", apis.FamilyListCreateApi.as_view(), name="families"),
    path(_FAMILY, apis.FamilyDetailApi.as_view(), name="family"),
    path(_FAMILY + "/versions", apis.VersionListCreateApi.as_view(), name="versions"),
    path(_VERSION, apis.VersionDetailApi.as_view(), name="version"),
    path(_VERSION + "/activate", apis.VersionActivateApi.as_view(), name="activate"),
    path(_VERSION + "/deactivate", apis.VersionDeactivateApi.as_view(), name="deactivate"),
    path(_FAMILY + "/experiment", apis.ExperimentApi.as_view(), name="experiment"),
    path(_FAMILY + "/experiment/promote", apis.ExperimentPromoteApi.as_view(), name="promote"),
    path("prompts/render", apis.PromptRenderApi.as_view(), name="render"),
    path("feedback-metrics", apis.MetricListCreateApi.as_view(), name="metrics"),
    path(
        "generations/<uuid:generation_id>/feedback",
        apis.GenerationFeedbackApi.as_view(),
        name="feedback",
    ),
]
