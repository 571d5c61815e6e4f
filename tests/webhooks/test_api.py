"""The webhooks API: registration, the secret shown once, isolation, roles, rotation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from generations.models import Workspace, WorkspaceMembership
from webhooks.models import Endpoint
from webhooks.signing import secret_open

URL = "/api/v1/webhooks"
HOOK = "http://127.0.0.1:9/hook"


def register(api, **body):
    return api.post(URL, {"url": HOOK, **body}, format="json")


def test_registration_shows_the_secret_once_and_never_again(api):
    created = register(api, events=["generation.completed"], description="build")
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint = Endpoint.objects.get(id=created.json()["id"])
    assert secret not in endpoint.secret_sealed  # sealed at rest
    assert secret_open(endpoint.secret_sealed) == secret
    listed = api.get(URL)
    detail = api.get(f"{URL}/{endpoint.id}")
    assert listed.status_code == detail.status_code == 200
    for response in (listed, detail):
        assert '"secret":' not in response.content.decode()
        assert secret not in response.content.decode()
    assert detail.json()["events"] == ["generation.completed"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_private_target_is_refused_at_registration(api, settings, url):
    settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = False
    response = api.post(URL, {"url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_not_allowed"
    assert not Endpoint.objects.exists()


def test_a_private_target_is_refused_on_update_too(api, settings):
    endpoint_id = register(api).json()["id"]
    settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = False
    response = api.patch(f"{URL}/{endpoint_id}", {"url": "http://10.0.0.1/x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_not_allowed"


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http:///nohost", ""])
def test_a_malformed_url_is_refused(api, url):
    response = api.post(URL, {"url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"webhook_url_invalid", "blank"}


def test_an_unknown_event_type_is_refused(api):
    response = register(api, events=["generation.exploded"])
    assert response.status_code == 400
    assert "events.0" in response.json()["error"]["fields"]


def test_another_workspace_sees_nothing_and_gets_404(api, other_api):
    endpoint_id = register(api).json()["id"]
    assert other_api.get(URL).json() == []
    for response in (
        other_api.get(f"{URL}/{endpoint_id}"),
        other_api.patch(f"{URL}/{endpoint_id}", {"enabled": False}, format="json"),
        other_api.delete(f"{URL}/{endpoint_id}"),
        other_api.post(f"{URL}/{endpoint_id}/rotate-secret"),
        other_api.get(f"{URL}/{endpoint_id}/deliveries"),
        other_api.post(f"{URL}/{endpoint_id}/deliveries/1/redeliver"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "webhook_not_found"


def test_a_plain_member_reads_but_cannot_write(api, workspace, django_user_model):
    endpoint_id = register(api).json()["id"]
    member = django_user_model.objects.create_user(username="bob", password="pw-bob-12345")
    WorkspaceMembership.objects.create(workspace=workspace, user=member, role="member")
    client = APIClient()
    client.force_authenticate(member)
    assert client.get(f"{URL}/{endpoint_id}").status_code == 200
    for response in (
        client.post(URL, {"url": HOOK}, format="json"),
        client.patch(f"{URL}/{endpoint_id}", {"enabled": False}, format="json"),
        client.delete(f"{URL}/{endpoint_id}"),
        client.post(f"{URL}/{endpoint_id}/rotate-secret"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_staff_see_and_manage_every_workspace(api, staff_api, workspace):
    endpoint_id = register(api).json()["id"]
    assert [e["id"] for e in staff_api.get(URL).json()] == [endpoint_id]
    other = Workspace.objects.create(slug="elsewhere", name="Elsewhere")
    created = staff_api.post(URL, {"url": HOOK, "workspace_id": other.id}, format="json")
    assert created.status_code == 201
    assert created.json()["workspace_id"] == other.id
    assert staff_api.delete(f"{URL}/{endpoint_id}").status_code == 204
    assert not Endpoint.objects.filter(id=endpoint_id).exists()


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_the_grace(api, settings):
    settings.GENPIPE_WEBHOOK_ROTATION_GRACE_S = 3600
    created = register(api).json()
    rotated = api.post(f"{URL}/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    endpoint = Endpoint.objects.get(id=created["id"])
    assert secret_open(endpoint.previous_secret_sealed) == created["secret"]
    assert secret_open(endpoint.secret_sealed) == rotated.json()["secret"]
    assert created["secret"] not in api.get(f"{URL}/{created['id']}").content.decode()


def test_enabling_again_clears_the_failure_streak(api):
    endpoint_id = register(api).json()["id"]
    Endpoint.objects.filter(id=endpoint_id).update(
        enabled=False, failure_streak=9, disabled_reason="failure_streak"
    )
    response = api.patch(f"{URL}/{endpoint_id}", {"enabled": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["failure_streak"], body["disabled_reason"]) == (True, 0, "")


def test_bad_bodies_and_ids_get_the_envelope(api):
    assert api.post(URL, [1, 2], format="json").status_code == 400
    response = api.get(f"{URL}/99999999999999999999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "webhook_not_found"
