"""A real uvicorn process (the ASGI application) and a real Celery worker on this test's
PostgreSQL database and private Redis; API tokens for the users of the shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.e2e.test_worker import worker_queue  # noqa: F401 (the fixture)
from tests.streams.servers import Server, asgi_server

HEARTBEAT_S = "0.3"


def service_env(queue: str | None = None, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "genpipe_site.settings",
        "GENPIPE_STREAM_HEARTBEAT_S": HEARTBEAT_S,
        **extra,
    }
    if queue:
        env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    return env


@pytest.fixture
def server(worker_queue: str) -> Iterator[Server]:  # noqa: F811
    """uvicorn on the ASGI app; its creates go to the test's worker queue."""
    with asgi_server(service_env(worker_queue)) as running:
        yield running


@pytest.fixture
def token(user: Any, workspace: Any, sandbox: Any) -> str:
    return Token.objects.create(user=user).key


@pytest.fixture
def other_token(other_api: Any, django_user_model: Any) -> str:
    return Token.objects.create(user=django_user_model.objects.get(username="mallory")).key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}
