"""``scripts/dev.py run``: serves the ASGI application (static files, SSE, WebSocket),
brings a dead worker back instead of stopping the service, loads the demo only on the first
start (settings edited in the admin stay), and keeps the banner readable (the worker logs to
a file under var/; the banner follows its "ready")."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.embedded import EmbeddedSite
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICE_VARS = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}

pytestmark = pytest.mark.worker


def worker_pids(parent: int) -> list[int]:
    return child_pids(parent, b"celery")


def child_pids(parent: int, marker: bytes = b"") -> list[int]:
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
        if ppid == parent and marker in cmdline:
            pids.append(int(entry.name))
    return pids


def run_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(GENPIPE_VAR_DIR=str(var_dir), GENPIPE_VENV=str(Path(sys.executable).parents[1]))
    return env


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DevRun:
    """``scripts/dev.py run`` in its own session, its output collected. It starts with
    SIGINT ignored, as a command started in the background of a shell script (``cmd &``)
    does: Ctrl-C (SIGINT) must stop it all the same, children included."""

    def __init__(self, var_dir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "run", "--port", str(self.port)],
            cwd=ROOT,
            env=run_env(var_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_ignore_sigint,
        )
        self.lines: list[str] = []
        reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout or []))
        reader.daemon = True
        reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            assert self.proc.poll() is None, self.output
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output}")

    def wait_for_banner(self) -> None:
        self.wait_for(lambda: "Ctrl-C stops the server" in self.output, 120, "the banner")

    def stop(self) -> None:
        """Ctrl-C: the script stops its server and worker, then itself."""
        children = child_pids(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            raise AssertionError(f"Ctrl-C did not stop dev.py run:\n{self.output}") from None
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert alive == [], f"left running after Ctrl-C: {alive}"


def test_run_restarts_a_worker_that_dies(tmp_path):
    run = DevRun(tmp_path)
    try:
        run.wait_for_banner()
        first = run.wait_for(lambda: worker_pids(run.proc.pid), 30, "the worker")[0]
        os.killpg(first, signal.SIGKILL)  # the worker dies, as on an unrecoverable error
        second = run.wait_for(
            lambda: [p for p in worker_pids(run.proc.pid) if p != first], 30, "a new worker"
        )[0]
        assert second != first
        assert "celery worker exited" in run.output
        assert "restarting it" in run.output
        assert run.proc.poll() is None  # the dev server kept running
    finally:
        run.stop()


SANDBOX_SETTINGS = "from generations.models import Provider as P; p = P.objects.get(id='sandbox')"


def _sandbox_settings(site: EmbeddedSite) -> dict[str, Any]:
    out = site.shell(f"import json; {SANDBOX_SETTINGS}; print(json.dumps(p.settings))")
    return dict(json.loads(out.strip().splitlines()[-1]))  # after shell's own notice


def _generations(site: EmbeddedSite) -> int:
    code = "from generations.models import Generation as G; print(G.objects.count())"
    return int(site.shell(code).strip().splitlines()[-1])


def test_the_banner_follows_the_worker_s_ready_and_nothing_buries_it(tmp_path):
    run = DevRun(tmp_path)
    try:
        run.wait_for_banner()
        log = tmp_path / "log" / "worker.log"
        assert " ready." in log.read_text()  # the banner came after the worker was ready
        assert f"Worker log {log}" in run.output
        banner_end = len(run.output)
        time.sleep(3)  # the worker runs the demo's 40 generations meanwhile
        after = run.output[banner_end:]
        assert "celery" not in after and "INFO" not in after, after
        assert "process_generation" in log.read_text()  # its logs went to the file
    finally:
        run.stop()


def test_a_second_start_loads_nothing_and_keeps_settings_edited_in_the_admin(tmp_path):
    site = EmbeddedSite(run_env(tmp_path) | {"DJANGO_SETTINGS_MODULE": "genpipe_site.settings"})
    run = DevRun(tmp_path)
    try:
        run.wait_for_banner()
        assert "Loading the demo world" in run.output
    finally:
        run.stop()
    token = run.output.split("API token  ", 1)[1].split()[0]
    edited = {"latency_ms": 5, "failure_rate": 0.0, "max_retries": 3, "failure_code": "edited"}
    site.shell(f"{SANDBOX_SETTINGS}; p.settings = {edited!r}; p.save()")
    site.shell(
        "from generations.models import Generation as G; "
        "G.objects.filter(id__in=list(G.objects.values_list('id', flat=True)[:5])).delete()"
    )
    remaining = _generations(site)

    again = DevRun(tmp_path)
    try:
        again.wait_for_banner()
    finally:
        again.stop()
    assert "already loaded" in again.output and "Loading the demo world" not in again.output
    assert f"API token  {token}" in again.output  # the same demo token, still shown
    assert _sandbox_settings(site) == edited
    assert _generations(site) == remaining  # not topped up again


def test_run_serves_admin_static_files_event_streams_and_the_websocket(tmp_path):
    """The web process is the ASGI application: static files (WhiteNoise), the SSE
    stream of a generation processed by the worker (polling: the embedded default has no
    Redis) and the WebSocket handshake, on the embedded default."""
    import json

    import httpx
    import websockets.sync.client

    run = DevRun(tmp_path)
    port = run.port
    base = f"http://127.0.0.1:{port}"
    try:
        run.wait_for_banner()
        token = next(line.split()[-1] for line in run.output.splitlines() if "API token" in line)
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
        run.stop()
