"""A real ASGI server (uvicorn on ``genpipe_site.asgi:application``) in a subprocess, and
a small SSE client that parses the stream itself (no SSE library between us and the bytes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Server:
    url: str
    ws_url: str


@contextmanager
def asgi_server(env: dict[str, str], *, timeout: float = 60) -> Iterator[Server]:
    """uvicorn serving the ASGI application with ``env``; stopped (its group) after."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "genpipe_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            # Open streams never finish on their own: give them 2 s at shutdown.
            "--timeout-graceful-shutdown",
            "2",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, "uvicorn exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class SseMessage:
    id: int | None
    data: dict[str, Any] | None  # None: a comment (heartbeat)
    comment: str = ""


class SseReader:
    """Reads one SSE response: messages (comments included) as the bytes arrive."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def __iter__(self) -> Iterator[SseMessage]:
        event_id: int | None = None
        data: list[str] = []
        for line in self._lines:
            if line == "":
                if data:
                    yield SseMessage(event_id, json.loads("\n".join(data)))
                event_id, data = None, []
            elif line.startswith(":"):
                yield SseMessage(None, None, line[1:].strip())
            elif line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())

    def next(self) -> SseMessage:
        return next(iter(self))

    def events(self, count: int | None = None) -> list[dict[str, Any]]:
        """Event objects until the stream ends (or ``count`` of them); ids checked."""
        events: list[dict[str, Any]] = []
        if count == 0:
            return events
        for message in self:
            if message.data is None:
                continue
            assert message.id == message.data["event_id"]
            events.append(message.data)
            if count is not None and len(events) == count:
                break
        return events
