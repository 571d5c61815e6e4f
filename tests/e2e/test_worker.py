"""A real Celery worker process, a real broker, the real database: POST → completed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from generations.models import Generation, ProviderAttempt
from genpipe_site.celery import app as celery_app
from tests.builders import create_body

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/generations"


@pytest.fixture
def worker_queue(telemetry_redis: object) -> Iterator[str]:
    """A worker subprocess on the test database, consuming a queue of its own, recording
    telemetry (and reading provider health for its breaker) in this test's flushed Redis
    database: earlier runs' failures must not open the breaker."""
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,  # the isolated telemetry database
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "genpipe_site.settings",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # retries and polls stay on this worker
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "genpipe_site",
            "worker",
            "-Q",
            queue,
            "--pool=threads",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    eager = celery_app.conf.task_always_eager
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = default_queue
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_for(generation_id: str, status: str, timeout: float = 45.0) -> Generation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        generation = Generation.objects.get(id=generation_id)
        if generation.status == status:
            return generation
        time.sleep(0.05)
    raise AssertionError(f"{generation_id} still {generation.status} after {timeout}s")


def test_post_reaches_completed_through_a_real_worker(api, worker_queue):
    ids = []
    for kind in ("text_to_image", "dialogue"):
        response = api.post(URL, create_body(config={"generation_type": kind}), format="json")
        assert response.status_code == 201
        ids.append(response.json()["id"])
    for generation_id in ids:
        generation = wait_for(generation_id, "completed")
        assert generation.started_at is not None
        assert generation.result
        assert ProviderAttempt.objects.filter(generation=generation).count() == 1
    detail = api.get(f"{URL}/{ids[1]}").json()
    assert detail["status"] == "completed"
    assert detail["result"]["text"]


def test_real_worker_records_injected_failures(api, sandbox, worker_queue):
    sandbox.settings = {"failure_rate": 1.0, "max_retries": 1}
    sandbox.save()
    response = api.post(URL, create_body(), format="json")
    generation = wait_for(response.json()["id"], "failed")
    assert generation.error_code == "sandbox_unavailable"
    # one retry, re-scheduled by the worker itself with a backoff countdown
    assert ProviderAttempt.objects.filter(generation=generation).count() == 2
