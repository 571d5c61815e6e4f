"""DELETE /api/v1/generations/cache/slots: staff delete one slot; errors in the envelope."""

from __future__ import annotations

import pytest

from caching.services import cache_slot_get
from generations.models import Generation
from tests.builders import create_body

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
    generation.status = "failed"  # a repeat would otherwise be answered by dedup
    generation.save(update_fields=["status"])
    response = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={ws}&key={key}")
    assert response.status_code == 200
    assert response.json() == {"workspace": ws, "key": key, "deleted": True}
    assert cache_slot_get(workspace_id=ws, key=key) is None
    again = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={ws}&key={key}")
    assert again.json()["deleted"] is False
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
        ("workspace=zero&key=generation:x|v1", "workspace"),
    ],
)
def test_bad_queries_are_400_with_the_field(staff_api, query, field):
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_unknown_workspace_is_404(staff_api):
    response = staff_api.delete(SLOTS, QUERY_STRING="workspace=999999&key=generation:x|v1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "workspace_not_found"


def test_an_unreachable_cache_is_503_not_a_silent_miss(staff_api, workspace, monkeypatch):
    from caching import services

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(services.cache, "delete", broken)
    response = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={workspace.id}&key=generation:x|v1")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cache_unreachable"


def test_ignored_redis_errors_are_503_too(staff_api, workspace, monkeypatch):
    from caching import services

    monkeypatch.setattr(services.cache, "delete", lambda *args, **kwargs: None)
    response = staff_api.delete(SLOTS, QUERY_STRING=f"workspace={workspace.id}&key=generation:x|v1")
    assert response.status_code == 503


def test_keys_with_spaces_from_free_text_scene_ids_can_be_deleted(api, staff_api):
    from urllib.parse import urlencode

    body = create_body(from_scene={"id": "old harbour "}, to_scene={"id": "inn"})
    generation = Generation.objects.get(id=api.post(URL, body, format="json").json()["id"])
    assert "|old harbour|" in generation.cache_key
    query = urlencode({"workspace": generation.workspace_id, "key": generation.cache_key})
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 200 and response.json()["deleted"] is True
