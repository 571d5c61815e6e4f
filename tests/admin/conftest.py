"""Fixtures of the dev panel tests: a staff client with CSRF enforced, and generations of
every outcome made through the API and the worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.builders import create_body, transition_body

URL = "/api/v1/generations"


@pytest.fixture
def panel(db: Any, django_user_model: Any) -> Client:
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


@pytest.fixture
def mix(api, sandbox, django_capture_on_commit_callbacks) -> dict[str, str]:
    """Two completed generations, one failed (``sandbox_busy``) and one pending."""
    ids = {}
    with django_capture_on_commit_callbacks(execute=True):
        ids["done"] = api.post(URL, create_body(), format="json").json()["id"]
        ids["talk"] = api.post(
            URL, create_body(config={"generation_type": "dialogue"}), format="json"
        ).json()["id"]
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy"}
    sandbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        ids["failed"] = api.post(
            URL, create_body(config={"prompt": "doomed"}), format="json"
        ).json()["id"]
    sandbox.settings = {}
    sandbox.save()
    ids["pending"] = api.post(URL, transition_body(), format="json").json()["id"]
    return ids


@pytest.fixture
def make_generation(api, django_capture_on_commit_callbacks):
    def make() -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(URL, create_body(), format="json").json()["id"]

    return make
