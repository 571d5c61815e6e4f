"""List, detail, cancel, retry, validate, social build, and the error envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from generations.models import Generation
from generations.services.lifecycle import generation_transition
from tests.builders import create_body

URL = "/api/v1/generations"


def make(api, n: int, **config) -> list[str]:
    ids = []
    for i in range(n):
        body = create_body(config={"prompt": f"prompt {i}", **config})
        ids.append(api.post(URL, body, format="json").json()["id"])
    return ids


def test_list_is_newest_first_with_cursor_pagination(api):
    ids = make(api, 5)
    Generation.objects.filter(id__in=ids).update(created_at=timezone.now())  # equal timestamps
    page = api.get(URL, {"limit": 2}).json()
    assert set(page) == {"next", "previous", "results"}
    seen = [g["id"] for g in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [g["id"] for g in page["results"]]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen)) == 5


def test_list_limit_is_capped_at_200(api):
    make(api, 3)
    assert len(api.get(URL, {"limit": 10_000}).json()["results"]) == 3


def test_list_filters(api, django_capture_on_commit_callbacks):
    first, _second = make(api, 2)
    generation_transition(generation_id=first, to_status="cancelled")
    dialogue = make(api, 1, generation_type="dialogue")[0]
    assert {g["id"] for g in api.get(URL, {"status": "cancelled"}).json()["results"]} == {first}
    assert [g["id"] for g in api.get(URL, {"operation_type": "dialogue"}).json()["results"]] == [
        dialogue
    ]
    assert len(api.get(URL, {"provider": "sandbox"}).json()["results"]) == 3
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api.get(URL, {"created_after": future}).json()["results"] == []
    assert len(api.get(URL, {"created_before": future}).json()["results"]) == 3


def test_the_workspace_filter_takes_an_id_or_a_slug_like_create(api, user, workspace, sandbox):
    from generations.models import Workspace, WorkspaceMembership

    second = Workspace.objects.create(slug="second-studio", name="Second")
    WorkspaceMembership.objects.create(workspace=second, user=user, role="owner")
    first = api.post(URL, create_body(workspace_id="studio"), format="json").json()["id"]
    other = api.post(URL, create_body(workspace_id="second-studio"), format="json").json()["id"]
    for value in (str(workspace.id), "studio"):
        assert [g["id"] for g in api.get(URL, {"workspace": value}).json()["results"]] == [first]
    for value in (str(second.id), "second-studio"):
        assert [g["id"] for g in api.get(URL, {"workspace": value}).json()["results"]] == [other]
    assert len(api.get(URL).json()["results"]) == 2


@pytest.mark.parametrize("value", ["no-such-studio", "rival", "999999", "\uff11"])
def test_a_workspace_filter_naming_none_of_yours_is_404(api, other_api, value):
    response = api.get(URL, {"workspace": value})
    assert response.status_code == 404, response.json()
    assert response.json()["error"]["code"] == "workspace_not_found"


def test_the_strategy_filter(api):
    once = make(api, 1)[0]
    always = make(api, 1, strategy="always")[0]
    assert [g["id"] for g in api.get(URL, {"strategy": "once"}).json()["results"]] == [once]
    assert [g["id"] for g in api.get(URL, {"strategy": "always"}).json()["results"]] == [always]
    assert api.get(URL, {"strategy": "per_player"}).json()["results"] == []
    response = api.get(URL, {"strategy": "sometimes"})
    assert response.status_code == 400
    assert "strategy" in response.json()["error"]["fields"]


def test_unknown_query_parameters_are_a_400_naming_them(api):
    make(api, 1)
    response = api.get(URL, {"stauts": "failed", "workspace_id": "1", "limit": 5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_parameter"
    assert set(error["fields"]) == {"stauts", "workspace_id"}
    assert error["message"].startswith("Unknown query parameters: stauts, workspace_id.")
    assert "status" in error["message"]  # the known ones are listed
    for known in ("status=failed", "limit=5", "cursor=", "format=json", "parent="):
        assert api.get(f"{URL}?{known}").status_code in {200, 400}
        assert api.get(f"{URL}?{known}").json().get("error", {}).get("code") != (
            "unknown_parameter"
        )


def test_bad_filter_value_is_a_400(api):
    response = api.get(URL, {"status": "queued"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_list_and_detail_hide_other_workspaces(api, other_api):
    mine = make(api, 1)[0]
    assert other_api.get(URL).json()["results"] == []
    response = other_api.get(f"{URL}/{mine}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "generation_not_found"
    assert other_api.post(f"{URL}/{mine}/cancel").status_code == 404
    assert other_api.post(f"{URL}/{mine}/retry").status_code == 404


def test_cancel_then_cancel_again_is_a_conflict(api):
    generation = make(api, 1)[0]
    response = api.post(f"{URL}/{generation}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = api.post(f"{URL}/{generation}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_retry_of_failed_creates_a_child(api):
    parent = make(api, 1)[0]
    generation_transition(generation_id=parent, to_status="processing")
    generation_transition(generation_id=parent, to_status="failed", fields={"error_code": "x"})
    response = api.post(f"{URL}/{parent}/retry")
    assert response.status_code == 201
    child = response.json()
    assert child["parent_generation_id"] == parent
    assert child["retry_count"] == 1
    assert child["status"] == "pending"
    grandchild_source = api.get(URL, {"parent": parent}).json()["results"]
    assert [g["id"] for g in grandchild_source] == [child["id"]]


def test_retry_of_pending_is_a_conflict(api):
    generation = make(api, 1)[0]
    response = api.post(f"{URL}/{generation}/retry")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_idempotency_key_replays_and_guards(api):
    body = create_body(config={"strategy": "always"})
    first = api.post(URL, body, format="json", headers={"Idempotency-Key": "k-1"})
    replay = api.post(URL, body, format="json", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["reused"] == "idempotency"
    changed = create_body(config={"strategy": "always", "prompt": "other"})
    mismatch = api.post(URL, changed, format="json", headers={"Idempotency-Key": "k-1"})
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["code"] == "idempotency_key_reused"
    assert Generation.objects.count() == 1


def test_idempotency_key_in_flight_is_a_conflict(api, workspace):
    from generations.models import IdempotencyRecord
    from generations.services.idempotency import body_fingerprint

    body = create_body(config={"strategy": "always"})
    IdempotencyRecord.objects.create(
        workspace=workspace,
        key="k-2",
        fingerprint=body_fingerprint(body),
        created_at=timezone.now(),
    )
    response = api.post(URL, body, format="json", headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert Generation.objects.count() == 0


def test_failed_request_forgets_its_idempotency_key(api):
    bad = create_body(config={"duration": {"min": 9, "max": 1}})
    assert api.post(URL, bad, format="json", headers={"Idempotency-Key": "k-3"}).status_code == 400
    good = create_body()
    assert api.post(URL, good, format="json", headers={"Idempotency-Key": "k-3"}).status_code == 201


def test_validate_reports_everything_and_creates_nothing(api):
    body = create_body(
        config={
            "duration": {"min": 30, "max": 10},
            "strategy": "always",
            "constraints": {"required_elements": ["x"], "avoid_elements": ["x"]},
        }
    )
    response = api.post(f"{URL}/validate", body, format="json")
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    assert {e["code"] for e in report["errors"]} == {"duration_range_invalid", "elements_conflict"}
    assert "strategy_always_expensive" in {w["code"] for w in report["warnings"]}
    assert "template_missing" in {s["code"] for s in report["suggestions"]}
    assert Generation.objects.count() == 0


def test_validate_of_a_good_request_shows_key_and_hash(api):
    report = api.post(f"{URL}/validate", create_body(), format="json").json()
    assert report["valid"] is True
    created = api.post(URL, create_body(), format="json").json()
    assert report["reproducible_hash"] == created["reproducible_hash"]
    assert report["cache_key"] == created["cache_key"]


def test_social_context_build(api):
    body = {
        "relationship_values": {"affinity": 75, "chemistry": 70, "trust": 55, "tension": 15},
        "user_max_rating": "mature_implied",
    }
    response = api.post(f"{URL}/social-context/build", body, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "relationship_tier": "close_friend",
        "intimacy_level": "intimate",
        "intimacy_band": "deep",
        "base_content_rating": "mature_implied",
        "content_rating": "romantic",
        "max_content_rating": "romantic",
        "clamped": True,
    }


def test_social_context_build_rejects_out_of_range(api):
    response = api.post(
        f"{URL}/social-context/build", {"relationship_values": {"affinity": 101}}, format="json"
    )
    assert response.status_code == 400
    assert "relationship_values.affinity" in response.json()["error"]["fields"]


# --- the envelope -----------------------------------------------------------------------


def assert_envelope(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_unauthenticated_is_401_with_envelope(db):
    assert_envelope(APIClient().get(URL), 401, "not_authenticated")


def test_bad_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_envelope(client.get(URL), 401, "authentication_failed")


def test_token_auth_works(api, user):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get(URL).status_code == 200


def test_unknown_route_is_404_with_envelope(api):
    assert_envelope(api.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405(api):
    assert_envelope(api.delete(URL), 405, "method_not_allowed")


def test_malformed_json_is_400(api):
    response = api.post(URL, "{not json", content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


def test_deeply_nested_json_is_400(api):
    response = api.post(URL, "[" * 5000 + "]" * 5000, content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


def test_non_object_body_is_400(api):
    assert_envelope(api.post(URL, [1, 2], format="json"), 400, "invalid_body")


def test_oversized_body_is_413(api):
    body = create_body(description="x" * 300_000)
    assert_envelope(api.post(URL, body, format="json"), 413, "request_too_large")


def test_throttled_is_429_with_retry_after(api, monkeypatch):
    from core.throttling import ScopedRateThrottle

    rates = {**ScopedRateThrottle.THROTTLE_RATES, "generation_create": "2/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr("core.throttling._now", lambda: 1_800_000_030.0)
    for _ in range(2):
        assert (
            api.post(URL, create_body(config={"strategy": "always"}), format="json").status_code
            == 201
        )
    response = api.post(URL, create_body(), format="json")
    assert_envelope(response, 429, "throttled")
    assert response["Retry-After"] == "30"  # the rest of the fixed one-minute window
    assert api.get(URL).status_code == 200  # reads are not limited by the create rate


@pytest.mark.parametrize("path", ["validate", "social-context/build", "simple-image-to-video"])
def test_other_posts_need_auth(db, path):
    assert APIClient().post(f"{URL}/{path}", {}, format="json").status_code == 401


def test_session_post_without_csrf_token_is_403(user, workspace, sandbox):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert_envelope(client.post(URL, create_body(), format="json"), 403, "permission_denied")
    assert client.get(URL).status_code == 200
