"""/api/v1/budgets and /api/v1/spend: roles, read-only figures, the error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from budgets.models import Budget
from generations.models import Workspace, WorkspaceMembership
from tests.builders import create_body

URL = "/api/v1/budgets"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_owners_write_members_read_strangers_see_nothing(
    api, workspace, django_user_model, other_api
):
    created = api.post(
        URL,
        {"limit_usd": "5", "period": "day", "operation_type": "text_to_image"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["workspace_id"] == workspace.id
    assert body["alert_thresholds"] == [0.5, 0.8, 1.0]
    assert body["mode"] == "hard"
    assert (body["spent_usd"], body["reserved_usd"], body["remaining_usd"]) == (
        "0.000000",
        "0.000000",
        "5.000000",
    )
    assert body["period_end"] > body["period_start"]
    member = django_user_model.objects.create_user(username="bob", password="x")
    WorkspaceMembership.objects.create(workspace=workspace, user=member, role="member")
    bob = _client(member)
    assert [b["id"] for b in bob.get(URL).json()] == [body["id"]]
    refused = bob.patch(f"{URL}/{body['id']}", {"limit_usd": "50"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert bob.delete(f"{URL}/{body['id']}").status_code == 403
    assert other_api.get(URL).json() == []
    assert other_api.get(f"{URL}/{body['id']}").status_code == 404
    patched = api.patch(
        f"{URL}/{body['id']}", {"limit_usd": "7.5", "spent_usd": "99"}, format="json"
    )
    assert patched.json()["limit_usd"] == "7.500000"
    assert patched.json()["spent_usd"] == "0.000000"
    assert api.delete(f"{URL}/{body['id']}").status_code == 204
    assert not Budget.objects.exists()


def test_staff_manage_any_workspace(staff_api, workspace):
    created = staff_api.post(
        URL, {"workspace_id": workspace.id, "limit_usd": "1", "period": "total"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["period_start"] is None
    assert created.json()["period_end"] is None
    assert len(staff_api.get(URL).json()) == 1


def test_bad_budget_input_is_a_400_envelope(api):
    for body in (
        {"limit_usd": "-1"},
        {"limit_usd": "x"},
        {"limit_usd": "1", "period": "year"},
        {"limit_usd": "1", "alert_thresholds": ["a"]},
        {"limit_usd": "1", "provider_id": "nope"},
        [],
    ):
        response = api.post(URL, body, format="json")
        assert response.status_code == 400, body
        assert "code" in response.json()["error"]


def test_spend_groups_actual_costs(api, workspace, django_capture_on_commit_callbacks, other_api):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/generations", create_body(), format="json")
        dialogue = create_body(config={"generation_type": "dialogue", "prompt": "hi"})
        api.post("/api/v1/generations", dialogue, format="json")
    by_op = api.get("/api/v1/spend?group_by=operation_type").json()
    assert {r["key"] for r in by_op["rows"]} == {"text_to_image", "dialogue"}
    assert by_op["total_usd"] != "0.000000"
    by_day = api.get("/api/v1/spend", {"group_by": "day", "from": "2020-01-01"}).json()
    assert len(by_day["rows"]) == 1
    assert by_day["total_usd"] == by_op["total_usd"]
    assert other_api.get("/api/v1/spend").json()["rows"] == []
    bad = api.get("/api/v1/spend?group_by=colour")
    assert bad.status_code == 400
    assert api.get("/api/v1/spend?from=yesterday").status_code == 400


def test_create_api_token_makes_only_a_new_workspaces_first_member_its_owner(db):
    call_command("create_api_token", "first", "--workspace", "fresh", "--create-workspace")
    call_command("create_api_token", "second", "--workspace", "fresh")
    roles = dict(
        WorkspaceMembership.objects.filter(
            workspace=Workspace.objects.get(slug="fresh")
        ).values_list("user__username", "role")
    )
    assert roles == {"first": "owner", "second": "member"}


def test_the_spend_panel_page_renders_for_staff(admin_client, workspace):
    Budget.objects.create(workspace=workspace, limit_usd="3")
    page = admin_client.get("/admin/budgets/budget/spend/")
    assert page.status_code == 200
    assert b"gp-budget-gauges" in page.content
    assert b"Saved by the cache" in page.content


@pytest.mark.parametrize("value", [{}, [], True, "²", "1e3", "one", 1.5])
def test_a_staff_workspace_id_that_is_not_an_id_is_400_not_500(staff_api, workspace, value):
    body = {"workspace_id": value, "limit_usd": "1", "period": "day"}
    response = staff_api.post(URL, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["fields"]["workspace_id"][0]["code"] == "invalid"


def test_a_staff_workspace_id_nobody_has_is_404(staff_api, workspace):
    for value in (999_999, "99999999999999999999999"):
        body = {"workspace_id": value, "limit_usd": "1", "period": "day"}
        response = staff_api.post(URL, body, format="json")
        assert response.status_code == 404, response.content[:300]
        assert response.json()["error"]["code"] == "workspace_not_found"
    body = {"workspace_id": str(workspace.id), "limit_usd": "1", "period": "day"}
    assert staff_api.post(URL, body, format="json").status_code == 201


@pytest.mark.parametrize("value", ["²", "\uff11", "one"])
def test_an_odd_workspace_id_filter_is_400_not_500(api, value):
    response = api.get(URL, {"workspace_id": value})
    assert response.status_code == 400, response.content[:300]
    assert "workspace_id" in response.json()["error"]["fields"]
