"""Dependencies down: the API keeps creating and answers in the envelope."""

from __future__ import annotations

import copy

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from generations.models import Generation
from tests.builders import create_body

URL = "/api/v1/generations"


@pytest.fixture
def redis_down(settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
            "IGNORE_EXCEPTIONS": True,
        },
    }
    settings.CACHES = caches


def test_without_redis_creates_still_work_and_dedup_falls_back_to_the_database(
    api, redis_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, create_body(), format="json")
    assert first.status_code == 201
    assert Generation.objects.get(id=first.json()["id"]).status == "completed"
    second = api.post(URL, create_body(), format="json")
    assert second.status_code == 200
    assert second.json()["reused"] == "dedup"


def test_unexpected_error_is_a_500_envelope_without_traceback(api, user, monkeypatch):
    from generations.services import submission

    def boom(**_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(submission, "generation_create", boom)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    response = client.post(URL, create_body(), format="json")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.content.decode()


def test_database_error_is_a_503_envelope(api, monkeypatch):
    from generations.services import submission

    def down(**_: object) -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(submission, "generation_create", down)
    response = api.post(URL, create_body(), format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"
