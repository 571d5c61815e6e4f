"""``scripts/dev.py run`` brings a dead worker back instead of stopping the service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"celery" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_run_restarts_a_worker_that_dies(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(GENPIPE_VAR_DIR=str(tmp_path), GENPIPE_VENV=str(Path(sys.executable).parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "scripts/dev.py", "run", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()

    def wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            assert proc.poll() is None, "".join(output)
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n" + "".join(output))

    try:
        wait_for(lambda: "genpipe is running" in "".join(output), 120, "the banner")
        first = wait_for(lambda: worker_pids(proc.pid), 30, "the worker")[0]
        os.killpg(first, signal.SIGKILL)  # the worker dies, as on an unrecoverable error
        second = wait_for(
            lambda: [p for p in worker_pids(proc.pid) if p != first], 30, "a new worker"
        )[0]
        assert second != first
        assert "celery worker exited" in "".join(output)
        assert "restarting it" in "".join(output)
        assert proc.poll() is None  # the dev server kept running
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_run_serves_admin_static_files_event_streams_and_the_websocket(tmp_path):
    """The web process is the ASGI application: static files (WhiteNoise), the SSE
    stream of a generation processed by the worker (polling: the embedded default has no
    Redis) and the WebSocket handshake, on the embedded default."""
    import json

    import httpx
    import websockets.sync.client

    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(GENPIPE_VAR_DIR=str(tmp_path), GENPIPE_VENV=str(Path(sys.executable).parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "scripts/dev.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while "genpipe is running" not in "".join(output):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(output)
            time.sleep(0.1)
        token = next(
            line.split()[-1] for line in "".join(output).splitlines() if "API token" in line
        )
        headers = {"Authorization": f"Token {token}"}
        css = httpx.get(f"{base}/static/admin/css/base.css", timeout=10)
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        login = httpx.get(f"{base}/admin/login/", timeout=10)
        assert login.status_code == 200 and "/static/admin/css/" in login.text
        body = {
            "provider_id": "sandbox",
            "config": {
                "generation_type": "dialogue",
                "purpose": "adaptive",
                "strategy": "once",
                "seed_source": "fixed",
                "prompt": "a lighthouse keeper says hello",
            },
        }
        created = httpx.post(f"{base}/api/v1/generations", json=body, headers=headers, timeout=30)
        assert created.status_code in (200, 201), created.text
        url = f"{base}/api/v1/generations/{created.json()['id']}/events"
        events = []
        with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():  # ends after the terminal event
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        types = [e["type"] for e in events]
        assert types[:2] == ["generation.pending", "generation.processing"]
        assert types[-1] in ("generation.completed", "generation.failed")
        ids = [e["event_id"] for e in events]
        assert ids == sorted(set(ids))  # in order, each once
        ws_url = f"ws://127.0.0.1:{port}/ws/v1/generations?token={token}"
        with websockets.sync.client.connect(ws_url) as ws:
            ws.send(json.dumps({"type": "subscribe", "generation_id": created.json()["id"]}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
            assert json.loads(ws.recv(timeout=10))["type"] == "generation.pending"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
