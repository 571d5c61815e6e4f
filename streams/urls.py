from django.urls import path

from . import apis

app_name = "streams"

# Included after generations.urls: "events" is no UUID, so generations/<uuid:generation_id>
# never takes these paths.
urlpatterns = [
    path("generations/events", apis.workspace_events, name="workspace-events"),
    path(
        "generations/<uuid:generation_id>/events", apis.generation_events, name="generation-events"
    ),
]
