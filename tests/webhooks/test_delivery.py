"""Deliveries to a real local receiver that verifies them with ``standardwebhooks``.

Tasks run eagerly here: the first attempt happens inside the request that caused the
event; due retries are sent by the sweeper (``webhooks.sweep``), which the tests call
until the receiver has what they wait for.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.builders import create_body
from tests.webhooks.receiver import receiver
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.services.deliveries import deliveries_sweep
from webhooks.tasks import sweep_webhook_deliveries

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/webhooks"


def register(api, url, **body):
    response = api.post(URL, {"url": url, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def generate(api, **overrides):
    response = api.post("/api/v1/generations", create_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def sweep_until(condition, timeout=10.0):
    """Run the sweeper (it sends due retries) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        sweep_webhook_deliveries()
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_failed_deliveries_are_retried_with_the_same_webhook_id_until_one_succeeds(api):
    with receiver(answers=[500, 500]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        generation_id = generate(api)
        sweep_until(lambda: len(hook.received) >= 3)
        delivery = Delivery.objects.get(endpoint_id=endpoint["id"])
        assert delivery.state == Delivery.State.SUCCEEDED
        # Succeeded: nothing is due any more, however late the sweeper runs.
        assert deliveries_sweep(now=timezone.now() + timedelta(days=30)) == []
        received = hook.received
    assert [r.status for r in received] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in received} == {delivery.webhook_id}
    assert len({r.body for r in received}) == 1  # the same bytes every time
    for request in received:
        body = request.verify(endpoint["secret"])
        assert body["type"] == "generation.completed"
        assert body["data"]["generation_id"] == generation_id
        assert body["data"]["generation"]["status"] == "completed"
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "failed"),
        (2, 500, "failed"),
        (3, 200, "succeeded"),
    ]
    assert attempts[0].next_retry_at is not None and attempts[2].next_retry_at is None
    assert Endpoint.objects.get(id=endpoint["id"]).failure_streak == 0


def test_every_transition_is_delivered_when_the_filter_is_empty(api):
    with receiver() as hook:
        endpoint = register(api, hook.url)
        generation_id = generate(api)
        received = hook.wait_for(3)
    types = sorted((r.json["data"]["event_id"], r.json["type"]) for r in received)
    assert [t for _, t in types] == [
        "generation.pending",
        "generation.processing",
        "generation.completed",
    ]
    first = min(received, key=lambda r: r.json["data"]["event_id"]).verify(endpoint["secret"])
    assert first["data"]["from_status"] is None
    assert first["data"]["generation_id"] == generation_id
    assert len({r.headers["webhook-id"] for r in received}) == 3


def test_the_events_filter_keeps_other_types_away(api, sandbox):
    sandbox.settings = {"failure_rate": 1.0, "max_retries": 0}
    sandbox.save()
    with receiver() as hook:
        register(api, hook.url, events=["generation.completed"])
        failed_only = register(api, hook.url + "/failed", events=["generation.failed"])
        generate(api)
        received = hook.wait_for(1)
    assert [(r.path, r.json["type"]) for r in received] == [("/hook/failed", "generation.failed")]
    assert Delivery.objects.get().endpoint_id == failed_only["id"]


def test_410_gone_disables_the_endpoint_and_stops_retrying(api):
    with receiver(answers=[410]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        generate(api)
        hook.wait_for(1)
        generate(api, config={"prompt": "a second lighthouse"})
        sweep_webhook_deliveries()
        received = len(hook.received)
    assert received == 1
    row = Endpoint.objects.get(id=endpoint["id"])
    assert (row.enabled, row.disabled_reason) == (False, "gone")
    delivery = Delivery.objects.get(endpoint=row)
    assert (delivery.state, delivery.last_status_code) == ("failed", 410)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(api):
    with receiver(answers=[(302, {"Location": "/elsewhere"})]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        generate(api)
        sweep_until(lambda: len(hook.received) >= 2)
        paths = [r.path for r in hook.received]
    assert paths == ["/hook", "/hook"]  # the retry, never /elsewhere
    first = DeliveryAttempt.objects.get(delivery__endpoint_id=endpoint["id"], number=1)
    assert (first.status_code, first.outcome) == (302, "failed")
    assert first.error.startswith("redirect_not_followed")


def test_after_a_rotation_both_signatures_are_sent_and_both_verify(api):
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        rotated = api.post(f"{URL}/{endpoint['id']}/rotate-secret").json()
        generate(api)
        (request,) = hook.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    request.verify(endpoint["secret"])
    request.verify(rotated["secret"])


def test_after_the_grace_only_the_new_secret_signs(api, settings):
    settings.GENPIPE_WEBHOOK_ROTATION_GRACE_S = 0
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        rotated = api.post(f"{URL}/{endpoint['id']}/rotate-secret").json()
        generate(api)
        (request,) = hook.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    request.verify(rotated["secret"])
    with pytest.raises(Exception, match="signature"):
        request.verify(endpoint["secret"])


def test_a_failure_streak_disables_the_endpoint(api, settings):
    settings.GENPIPE_WEBHOOK_DISABLE_AFTER = 2
    with receiver(answers=[500] * 10) as hook:
        endpoint = register(api, hook.url)
        generate(api)
        # The delivery still waiting for its retry finds the endpoint disabled then.
        sweep_until(lambda: not Delivery.objects.filter(state="pending").exists())
        received = len(hook.received)
    row = Endpoint.objects.get(id=endpoint["id"])
    assert (row.enabled, row.disabled_reason, row.failure_streak) == (False, "failure_streak", 2)
    assert received == 2
    states = sorted(Delivery.objects.filter(endpoint=row).values_list("state", flat=True))
    assert states == ["failed", "failed"]  # a later event finds the endpoint disabled


def test_a_target_that_turned_private_is_refused_at_delivery(api, settings):
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = False
        generate(api)
        assert hook.received == []
    attempt = DeliveryAttempt.objects.get(delivery__endpoint_id=endpoint["id"])
    assert attempt.status_code is None
    assert attempt.error.startswith("webhook_url_not_allowed")


def test_deliveries_list_every_attempt_and_redeliver_sends_the_same_webhook_id(api):
    with receiver(answers=[503]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        generate(api)
        sweep_until(lambda: len(hook.received) >= 2)
        listed = api.get(f"{URL}/{endpoint['id']}/deliveries")
        assert listed.status_code == 200
        (delivery,) = listed.json()["results"]
        assert delivery["state"] == "succeeded"
        assert [(a["number"], a["status_code"]) for a in delivery["attempts"]] == [
            (1, 503),
            (2, 200),
        ]
        assert all(a["latency_ms"] is not None for a in delivery["attempts"])
        assert delivery["attempts"][0]["error"] == "http_status: HTTP 503"
        assert delivery["attempts"][0]["next_retry_at"] is not None
        assert delivery["payload"]["type"] == "generation.completed"
        again = api.post(f"{URL}/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
        assert again.status_code == 202, again.json()
        received = hook.wait_for(3)
    assert received[2].headers["webhook-id"] == delivery["webhook_id"]
    assert len(again.json()["attempts"]) == 3


def test_redeliver_to_a_disabled_endpoint_is_a_conflict(api):
    with receiver(answers=[410]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        generate(api)
        hook.wait_for(1)
    delivery = Delivery.objects.get(endpoint_id=endpoint["id"])
    response = api.post(f"{URL}/{endpoint['id']}/deliveries/{delivery.id}/redeliver")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "webhook_endpoint_disabled"


def test_the_secret_never_reaches_the_logs(api, caplog, settings):
    caplog.set_level(logging.DEBUG)
    with receiver(answers=[500, 410]) as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        api.post(f"{URL}/{endpoint['id']}/rotate-secret")
        generate(api)
        sweep_until(lambda: len(hook.received) >= 2)
    assert "whsec_" not in caplog.text
    assert endpoint["secret"] not in caplog.text


def test_a_secret_sealed_under_a_lost_key_fails_the_attempt_without_sending(api, settings):
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        settings.SECRET_KEY = "another-key-and-no-fallback"
        generate(api)
        assert hook.received == []
    attempt = DeliveryAttempt.objects.get(delivery__endpoint_id=endpoint["id"])
    assert attempt.error.startswith("secret_unreadable")


def test_an_old_key_in_the_fallbacks_still_opens_the_secret(api, settings):
    with receiver() as hook:
        endpoint = register(api, hook.url, events=["generation.completed"])
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "the-rotated-key"
        generate(api)
        (request,) = hook.wait_for(1)
    request.verify(endpoint["secret"])
