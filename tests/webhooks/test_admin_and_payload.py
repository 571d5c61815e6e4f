"""The admin pages never show a secret, the redeliver action, and the event object."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.redaction import redact
from generations.events import event_object
from generations.models import GenerationEvent
from tests.builders import create_body
from webhooks.models import Delivery
from webhooks.payload import webhook_body
from webhooks.services.endpoints import endpoint_create, endpoint_rotate_secret


@pytest.fixture
def endpoint_and_secret(workspace):
    endpoint, secret = endpoint_create(
        workspace=workspace,
        url="http://127.0.0.1:9/hook",
        events=[],
        enabled=True,
        description="",
    )
    endpoint, rotated = endpoint_rotate_secret(endpoint=endpoint, now=timezone.now())
    return endpoint, [secret, rotated]


@pytest.fixture
def delivery(api, endpoint_and_secret, no_dispatch):
    endpoint, _ = endpoint_and_secret
    generation_id = api.post("/api/v1/generations", create_body(), format="json").json()["id"]
    event = GenerationEvent.objects.get(generation_id=generation_id)
    now = timezone.now()
    return Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        webhook_id="msg_admin",
        event_type="generation.pending",
        body=webhook_body(event_object(event)),
        state=Delivery.State.GAVE_UP,
        next_attempt_at=None,
        created_at=now,
        updated_at=now,
    )


def test_admin_pages_never_show_a_secret(admin_client, endpoint_and_secret, delivery):
    endpoint, secrets = endpoint_and_secret
    pages = [
        "/admin/webhooks/endpoint/",
        f"/admin/webhooks/endpoint/{endpoint.id}/change/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{delivery.id}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "whsec_" not in html, page
        assert endpoint.secret_sealed not in html, page
        for secret in secrets:
            assert secret not in html, page


def test_admin_redeliver_action_queues_the_delivery_again(
    admin_client, delivery, django_capture_on_commit_callbacks
):
    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "redeliver", "_selected_action": [delivery.id]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 deliveries queued again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.next_attempt_at is not None


def test_admin_can_disable_an_endpoint(admin_client, endpoint_and_secret):
    endpoint, _ = endpoint_and_secret
    response = admin_client.post(
        f"/admin/webhooks/endpoint/{endpoint.id}/change/",
        {"description": "paused", "enabled": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "manual")


def test_the_event_object_has_the_documented_shape(api, no_dispatch):
    generation_id = api.post("/api/v1/generations", create_body(), format="json").json()["id"]
    event = GenerationEvent.objects.get(generation_id=generation_id)
    obj = event_object(event)
    assert set(obj) == {
        "event_id",
        "type",
        "generation_id",
        "workspace_id",
        "from_status",
        "to_status",
        "reason",
        "at",
        "generation",
    }
    assert obj["event_id"] == event.id
    assert obj["type"] == "generation.pending"
    assert obj["from_status"] is None and obj["to_status"] == "pending"
    assert obj["generation"] == api.get(f"/api/v1/generations/{generation_id}").json()


def test_a_signing_secret_is_masked_in_logs():
    assert "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in redact(
        "secret is whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw in a line"
    )


def test_delivery_page_is_read_only_and_times_attempts_to_the_millisecond(admin_client, delivery):
    from datetime import UTC, datetime

    from webhooks.models import DeliveryAttempt

    at = datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, attempted_at=at, outcome="failed", status_code=503
    )
    page = admin_client.get(f"/admin/webhooks/delivery/{delivery.id}/change/").content.decode()
    assert "2026-03-04 05:06:07.891 UTC" in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page
