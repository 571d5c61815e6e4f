from django.urls import path

from . import apis

app_name = "streams"

# Included before generations.urls; "events" is no UUID, so it never reaches
# generations/<uuid:generation_id> anyway.
urlpatterns = [
    path("generations/events", apis.workspace_events, name="workspace-events"),
    path(
        "generations/<uuid:generation_id>/events", apis.generation_events, name="generation-events"
    ),
]
