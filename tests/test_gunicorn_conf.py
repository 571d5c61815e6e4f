"""The documented gunicorn command lets Django answer long requests in the JSON envelope.

gunicorn's defaults answer a request line over 4 KB with an HTML 414 and a header over
8 KB with an HTML 431 before Django sees them; ``genpipe_site/gunicorn_conf.py`` raises
both limits. One real gunicorn, started with that file, on a free port.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "genpipe_site" / "gunicorn_conf.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "GENPIPE_ENV"}
        and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        GENPIPE_VAR_DIR=str(tmp_path_factory.mktemp("var")),
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-c", str(CONF), "genpipe_site.wsgi"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_the_documented_command_reads_its_settings_from_the_file():
    readme = (ROOT / "README.md").read_text()
    assert "gunicorn -c genpipe_site/gunicorn_conf.py genpipe_site.wsgi" in readme


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/generations?cursor=" + "x" * 5000, {}),
        ("/api/v1/generations", {"Idempotency-Key": "k" * 10_000}),
        ("/api/v1/generations", {"X-Request-ID": "r" * 10_000}),
    ],
    ids=["5 KB cursor", "10 KB Idempotency-Key", "10 KB X-Request-ID"],
)
def test_long_query_strings_and_headers_reach_django(server, path, headers):
    status, response_headers, body = _get(server, path, headers)
    # Anonymous: Django's 401 in the envelope, not gunicorn's HTML 414/431.
    assert status == 401, body[:200]
    assert response_headers["Content-Type"] == "application/json"
    assert b'"code":"not_authenticated"' in body
    assert 0 < len(response_headers["X-Request-ID"]) <= 64


def _send(port: int, method: str, path: str, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_a_body_over_the_cap_is_413_in_the_envelope_under_gunicorn(server):
    body = b'{"description": "' + b"x" * 300_000 + b'"}'
    headers = {"Content-Type": "application/json", "Authorization": "Token nope"}
    status, response_headers, answer = _send(server, "POST", "/api/v1/generations", body, headers)
    assert status == 413, answer[:200]
    assert response_headers["Content-Type"] == "application/json"
    error = json.loads(answer)["error"]
    assert error["code"] == "request_too_large"
    assert error["message"] == "The request body is larger than 256 KiB."


def test_unrouted_api_paths_are_json_404s_under_gunicorn(server):
    status, headers, answer = _get(server, "/api/v1/nothing-here", {})
    assert (status, headers["Content-Type"]) == (404, "application/json")
    assert json.loads(answer)["error"]["code"] == "not_found"
    status, headers, answer = _get(server, "/api/v1/generations/", {})
    assert (status, headers["Content-Type"]) == (404, "application/json")
    assert "use /api/v1/generations." in json.loads(answer)["error"]["message"]


def _listening_sockets(port: int) -> int:
    """Sockets in LISTEN on 127.0.0.1:port (``/proc/net/tcp``, state 0A)."""
    local = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == local and line.split()[3] == "0A")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_each_worker_listens_on_its_own_socket(tmp_path: Path) -> None:
    # reuse_port: the kernel spreads connections over the workers' sockets instead of
    # the first worker to wake accepting them all (README "Running in production").
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-c", str(CONF), "genpipe_site.wsgi"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1"]
    skip = {
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "GENPIPE_ENV",
        "DJANGO_SETTINGS_MODULE",
    }
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update(DJANGO_DEBUG="1", GENPIPE_VAR_DIR=str(tmp_path))
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while _listening_sockets(port) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "gunicorn exited"
            time.sleep(0.1)
        assert _listening_sockets(port) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_loaded_web_worker_freezes_what_it_holds_out_of_the_collectors_reach() -> None:
    import gc
    import runpy

    hooks = runpy.run_path(str(CONF))
    gc.unfreeze()
    try:
        hooks["post_worker_init"](object())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
