"""The ASGI process borrows its PostgreSQL connections from a pool (``DATABASE_POOL``).

Under ASGI each request runs in a thread of its own; without the pool every request (and
each read of a ``Prefer: wait``) opened a connection and closed it at the end. The server
here is real uvicorn on the ASGI application; its connections carry an application name of
their own, so ``pg_stat_activity`` shows which backends it holds between requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.builders import create_body
from tests.streams.conftest import auth, service_env
from tests.streams.servers import asgi_server

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


def _backends(application_name: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_requests_reuse_the_pools_connections(worker_queue, token):
    name = f"genpipe-asgi-{uuid.uuid4().hex[:12]}"
    env = service_env(worker_queue)
    env["DATABASE_URL"] += f"?application_name={name}"
    with asgi_server(env) as server:
        created = httpx.post(
            f"{server.url}/api/v1/generations",
            json=create_body(config={"prompt": f"a harbour {uuid.uuid4().hex}"}),
            headers={**auth(token), "Prefer": "wait=30"},
            timeout=60,
        )
        assert created.status_code == 201 and created.json()["status"] == "completed"
        url = f"{server.url}/api/v1/generations/{created.json()['id']}"
        seen: set[int] = set()
        held = []
        for _round in range(3):
            for i in range(15):
                headers = {**auth(token), **({"Prefer": "wait=5"} if i % 2 else {})}
                response = httpx.get(url, headers=headers, timeout=30)
                assert response.status_code == 200
                assert response.json()["status"] == "completed"
            backends = _backends(name)
            held.append(backends)
            seen |= backends
        # Connections outlive the requests that used them…
        assert held[0], "no pooled connection stayed open after the requests"
        assert held[0] & held[-1], "the pool's connections were not kept between requests"
        # …and 91 requests (one of them waiting for its worker) were served by a few.
        assert len(seen) <= 20, seen
    # The server's pool closes with its process.
    assert not _backends(name)


def test_the_pool_setting_replaces_persistent_connections():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES['default']; "
        "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d['OPTIONS']['pool']]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "genpipe_site.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/genpipe_unused",
        "DATABASE_POOL": "1",
        "DATABASE_POOL_MAX_SIZE": "7",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[0, true, {"min_size": 2, "max_size": 7, "timeout": 3.0}]'
