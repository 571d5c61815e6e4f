"""DELETE /api/v1/generations/cache/slots: staff delete one slot; errors in the envelope."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from caching.services import cache_slot_get
from generations.models import Generation
from tests.builders import create_body
from tests.caching.backends import point_cache_at_closed_port

URL = "/api/v1/generations"
SLOTS = f"{URL}/cache/slots"


def _slot(api) -> Generation:
    created = api.post(URL, create_body(), format="json")
    assert created.status_code == 201
    return Generation.objects.get(id=created.json()["id"])


def test_staff_delete_a_slot_and_the_next_request_generates_again(api, staff_api):
    generation = _slot(api)
    ws, key = generation.workspace_id, generation.cache_key
    assert cache_slot_get(workspace_id=ws, key=key) == str(generation.id)
    response = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={ws}&key={key}")
    assert response.status_code == 200
    assert response.json() == {"workspace": ws, "key": key, "deleted": True, "invalidated": 1}
    assert cache_slot_get(workspace_id=ws, key=key) is None
    again = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={ws}&key={key}")
    assert again.json() == {"workspace": ws, "key": key, "deleted": False, "invalidated": 0}
    repeat = api.post(URL, create_body(), format="json")
    assert repeat.status_code == 201 and repeat.json()["id"] != str(generation.id)


def test_members_cannot_delete_slots(api):
    generation = _slot(api)
    query = f"workspace={generation.workspace_id}&key={generation.cache_key}"
    response = api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert cache_slot_get(workspace_id=generation.workspace_id, key=generation.cache_key)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("workspace=1&key=genpipe:telemetry", "key"),
        ("workspace=1", "key"),
        ("key=generation:x|v1", "workspace"),
        ("workspace=&key=generation:x|v1", "workspace"),
    ],
)
def test_bad_queries_are_400_with_the_field(staff_api, query, field):
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("workspace", ["999999", "zero", "no-such-studio", "\uff11"])
def test_unknown_workspace_is_404(staff_api, workspace):
    query = urlencode({"workspace": workspace, "key": "generation:x|v1"})
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "workspace_not_found"


def test_the_workspace_may_be_named_by_slug_as_in_a_create(api, staff_api, workspace):
    generation = _slot(api)
    query = urlencode({"workspace": workspace.slug, "key": generation.cache_key})
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 200, response.json()
    assert response.json()["workspace"] == workspace.id
    assert response.json()["invalidated"] == 1
    assert cache_slot_get(workspace_id=workspace.id, key=generation.cache_key) is None


@pytest.mark.parametrize("ignore_exceptions", [True, False])
def test_an_unreachable_cache_is_503_and_changes_nothing(
    api, staff_api, settings, django_capture_on_commit_callbacks, ignore_exceptions
):
    with django_capture_on_commit_callbacks(execute=True):
        generation = _slot(api)
    point_cache_at_closed_port(settings, ignore_exceptions=ignore_exceptions)
    query = f"workspace={generation.workspace_id}&key={generation.cache_key}"
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cache_unreachable"
    generation.refresh_from_db()
    assert generation.invalidated_at is None  # rolled back with the failed delete


def test_keys_with_spaces_from_free_text_scene_ids_can_be_deleted(api, staff_api):

    body = create_body(from_scene={"id": "old harbour "}, to_scene={"id": "inn"})
    generation = Generation.objects.get(id=api.post(URL, body, format="json").json()["id"])
    assert "|old harbour|" in generation.cache_key
    query = urlencode({"workspace": generation.workspace_id, "key": generation.cache_key})
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 200 and response.json()["deleted"] is True
