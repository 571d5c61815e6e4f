"""The per-process token cache (core.auth): same answers as DRF's token authentication,
forgotten at once in this process when a token, a user or a membership changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from generations.models import Workspace, WorkspaceMembership
from tests.builders import create_body

CREATE = "/api/v1/generations"
LIST = "/api/v1/generations"


@pytest.fixture
def token_api(user: Any, workspace: Workspace, sandbox: Any) -> tuple[APIClient, Token]:
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client, token


def _token_queries(client: APIClient) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    sql = [q["sql"] for q in queries.captured_queries]
    return response.status_code, [s for s in sql if "authtoken_token" in s]


def test_a_token_is_read_once_then_served_from_the_cache(token_api):
    client, _ = token_api
    assert _token_queries(client)[0] == 200
    status, token_reads = _token_queries(client)
    assert status == 200
    assert token_reads == []


def test_the_cache_can_be_turned_off(token_api, settings):
    settings.GENPIPE_AUTH_CACHE_S = 0
    client, _ = token_api
    assert _token_queries(client)[0] == 200
    status, token_reads = _token_queries(client)
    assert status == 200
    assert len(token_reads) == 1


def test_a_deleted_token_is_refused_at_once(token_api):
    client, token = token_api
    assert client.get(LIST).status_code == 200
    token.delete()
    response = client.get(LIST)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_deactivated_user_is_refused_at_once(token_api, user):
    client, _ = token_api
    assert client.get(LIST).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(LIST).status_code == 401


def test_membership_changes_are_seen_by_the_next_request(token_api, user, workspace):
    client, _ = token_api
    body = create_body()
    assert client.post(CREATE, body, format="json").status_code == 201
    other = Workspace.objects.create(slug="second", name="Second")
    membership = WorkspaceMembership.objects.create(workspace=other, user=user)
    response = client.post(CREATE, create_body(), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "workspace_required"
    assert client.post(CREATE, create_body(workspace_id="second"), format="json").status_code == 201
    listed = client.get(LIST).json()["results"]  # both workspaces' generations
    assert {g["workspace_id"] for g in listed} == {workspace.id, other.id}
    membership.delete()
    assert {g["workspace_id"] for g in client.get(LIST).json()["results"]} == {workspace.id}
    assert client.post(CREATE, create_body(workspace_id="second"), format="json").status_code == 404
    WorkspaceMembership.objects.filter(workspace=workspace, user=user).delete()
    response = client.post(CREATE, create_body(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_workspace"


def test_the_cached_user_is_a_copy_per_request(token_api):
    from core.auth import CachedTokenAuthentication

    _, token = token_api
    auth = CachedTokenAuthentication()
    first, _ = auth.authenticate_credentials(token.key)
    second, _ = auth.authenticate_credentials(token.key)
    assert first == second and first is not second
    first.marker = "set by a request"
    assert not hasattr(second, "marker")


def test_the_remembered_workspace_is_a_copy_per_request(token_api, workspace):
    from core.auth import CachedTokenAuthentication
    from generations.selectors import workspace_resolve

    _, token = token_api
    auth = CachedTokenAuthentication()
    first, _ = auth.authenticate_credentials(token.key)
    second, _ = auth.authenticate_credentials(token.key)
    mine = workspace_resolve(user=first, workspace_id=None)
    assert mine == workspace
    mine.name = "changed by a request"
    with CaptureQueriesContext(connection) as queries:
        theirs = workspace_resolve(user=second, workspace_id=str(workspace.id))
    assert queries.captured_queries == []  # remembered with the token
    assert theirs == workspace and theirs is not mine and theirs.name == workspace.name
