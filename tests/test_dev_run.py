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
