"""A tiny OpenAI-compatible provider for fault tests, its behaviour one Python function.

``FakeProvider(answer)`` serves ``POST /v1/chat/completions`` on a free 127.0.0.1 port;
``answer(call)`` returns the status, JSON body and extra headers for each call, and every
call is recorded with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic()

    @property
    def prompt(self) -> str:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1].get("content", "")) if users else ""


Answer = tuple[int, Any, dict[str, str]]


def chat_ok(call: Call) -> Answer:
    text = "Fine words for " + call.prompt[:40]
    body = {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "model": "fake-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }
    return 200, body, {}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": {"message": message, "type": "invalid_request_error"}}, headers or {}


class FakeProvider:
    def __init__(self, answer: Callable[[Call], Answer] = chat_ok) -> None:
        self.answer = answer
        self.calls: list[Call] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                call = Call(self.path, dict(self.headers.items()), body, time.monotonic())
                owner.calls.append(call)
                status, reply, headers = owner.answer(call)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
