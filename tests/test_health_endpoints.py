"""/healthz and /readyz: no auth, no throttle, bounded checks, the envelope on failure."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError
from django.test import Client

from core import health
from core.throttling import UserRateThrottle


@pytest.fixture
def client() -> Client:
    return Client()


def test_healthz_answers_without_auth_or_dependencies(client):
    # No database access is allowed in this test: a query would fail it.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_every_check(db, client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    expected = "ok" if settings.REDIS_URL else "skipped"
    assert body["checks"]["redis"]["status"] == expected


def test_readyz_without_redis_url_skips_redis(db, client, settings):
    settings.REDIS_URL = ""
    body = client.get("/readyz").json()
    assert body["checks"]["redis"] == {"status": "skipped", "reason": "REDIS_URL is not set"}


def test_readyz_is_503_with_the_envelope_when_redis_is_down(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["fields"] == {
        "redis": [{"code": "unavailable", "message": "ConnectionError"}]
    }
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "error"
    assert response["Retry-After"] == "5"


def test_readyz_is_503_when_the_database_fails(db, client, monkeypatch):
    def broken() -> None:
        raise OperationalError('connection to server at "db.internal" failed')

    monkeypatch.setattr(health, "_database_ping", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert "db.internal" not in response.content.decode()  # public probe: no host names


def test_a_hung_dependency_costs_the_probe_half_a_second(db, client, monkeypatch):
    release = threading.Event()

    def hung() -> None:
        release.wait(10)

    monkeypatch.setattr(health, "_database_ping", hung)
    started = time.monotonic()
    try:
        response = client.get("/readyz")
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["error"] == "timeout"


def test_probes_are_not_throttled(db, client, monkeypatch):
    rates = {"user": "1/min", "generation_create": "1/min"}
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/").status_code == 429  # the API is throttled now
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_probes_are_exempt_from_the_https_redirect(db, client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/generations").status_code == 301
