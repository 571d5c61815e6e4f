"""The documented production command for the ASGI application (gunicorn with uvicorn
workers) serves the API, static files, an SSE stream and the WebSocket, on the embedded
default (no Redis: the feed polls)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from tests.embedded import embedded_site
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "-k uvicorn_worker.UvicornWorker"
pytestmark = pytest.mark.worker  # a server process of its own


def test_the_readme_documents_the_asgi_command():
    readme = (ROOT / "README.md").read_text()
    assert f"gunicorn -c genpipe_site/gunicorn_conf.py {COMMAND}" in readme
    assert "genpipe_site.asgi:application" in readme


def test_gunicorn_with_uvicorn_workers_serves_streams_and_the_websocket(tmp_path):
    site = embedded_site(tmp_path)
    token = site.manage(
        "create_api_token", "ada", "--workspace", "studio", "--create-workspace"
    ).stdout.strip()
    assert token
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-c", "genpipe_site/gunicorn_conf.py", *COMMAND.split()]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "2"]
    process = subprocess.Popen(
        [*command, "genpipe_site.asgi:application"],
        cwd=ROOT,
        env={**site.env, "GENPIPE_STREAM_HEARTBEAT_S": "0.2"},
        start_new_session=True,
    )
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Token {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn died"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/static/admin/css/base.css", timeout=10).status_code == 200
        with httpx.stream(
            "GET", f"{base}/api/v1/generations/events", headers=headers, timeout=10
        ) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"
            assert next(lines) == ""
            assert next(lines) == ": heartbeat"
        with websockets.sync.client.connect(
            f"ws://127.0.0.1:{port}/ws/v1/generations", additional_headers=headers
        ) as ws:
            ws.send(json.dumps({"type": "subscribe", "workspace_id": "studio"}))
            assert json.loads(ws.recv(timeout=10)) == {
                "type": "subscribed",
                "workspace_id": "studio",
            }
        refused = httpx.get(f"{base}/api/v1/generations/events", timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "not_authenticated"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
