"""A fake OpenAI-compatible API on 127.0.0.1 (see :mod:`tests.fakes.server` for scripting).

Protocol
--------
``POST /v1/chat/completions``
    Request ``{"model", "messages": [{"role", "content"}], "temperature"?, "max_tokens"?,
    "seed"?}``. 200 ``{"id": "chatcmpl-<n>", "object": "chat.completion", "created",
    "model", "choices": [{"index": 0, "message": {"role": "assistant", "content"},
    "finish_reason": "stop"}], "usage": {"prompt_tokens", "completion_tokens",
    "total_tokens"}}``. The content comes from ``server.reply(request_json)``, by default
    ``"Echo: " + <last user message>``. Tokens are whitespace-separated words (prompt: all
    message contents; completion: the reply). When the reply has more words than
    ``max_tokens`` it is cut to ``max_tokens`` words with ``finish_reason: "length"``.
``POST /v1/images/generations``
    Request ``{"model", "prompt", "n"?=1, "size"?="1024x1024", "response_format"?="url"}``.
    200 ``{"created", "data": [{"url": "<server>/files/img-<n>.png"}]}`` or
    ``[{"b64_json": <base64 PNG>}]`` when ``response_format == "b64_json"``.
``GET /files/<id>.png``
    The generated image, a valid 1x1 PNG (``image/png``). No authentication needed.

Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``: 400 for
invalid requests, 404 for unknown routes or files, and with ``api_key`` set, 401
``{"error": {"message": "Invalid API key", "type": "invalid_request_error",
"code": "invalid_api_key"}}`` unless ``Authorization: Bearer <api_key>`` is sent.
``Status(code)`` scripted without a body answers with the matching OpenAI-style error.
"""

from __future__ import annotations

import base64
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from tests.fakes.server import FakeServer, RecordedRequest, Reply, status_phrase

__all__ = ["TINY_PNG", "FakeOpenAIServer", "echo_reply", "openai_error"]

ReplyFunction = Callable[[dict[str, Any]], str]

_SIZE = re.compile(r"\d+x\d+")
_FILE = re.compile(r"/files/([A-Za-z0-9_-]+)\.png")


def _png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x80\x40\xc0")  # filter byte + one pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


TINY_PNG = _png()

_DEFAULT_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request", "invalid_request_error", None),
    401: ("Invalid API key", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource", "invalid_request_error", None),
    404: ("Not found", "invalid_request_error", None),
    429: ("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def openai_error(
    message: str,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def echo_reply(request: dict[str, Any]) -> str:
    """Default reply: ``"Echo: "`` + the content of the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return "Echo: " + (_text(users[-1].get("content")) if users else "")


class FakeOpenAIServer(FakeServer):
    """Fake OpenAI-compatible API.

    Args:
        api_key: require ``Authorization: Bearer <api_key>`` (None: no auth).
        reply: ``reply(request_json) -> str`` producing the assistant message;
            also settable later as ``server.reply``. Defaults to :func:`echo_reply`.
    """

    def __init__(self, api_key: str | None = None, *, reply: ReplyFunction | None = None) -> None:
        self.reply: ReplyFunction = reply or echo_reply
        self.images: dict[str, bytes] = {}  # file id -> PNG bytes
        self._ids_lock = threading.Lock()
        self._completions = 0
        self._images = 0
        super().__init__(api_key)

    # -- FakeServer hooks ------------------------------------------------------------------

    def error_body(self, status: int) -> Any:
        message, kind, code = _DEFAULT_ERRORS.get(
            status,
            (
                status_phrase(status),
                "server_error" if status >= 500 else "invalid_request_error",
                None,
            ),
        )
        return openai_error(message, kind, code)

    def message_body(self, status: int, message: str) -> Any:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return openai_error(message, kind, "invalid_api_key" if status == 401 else None)

    def respond(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._chat(request)
        if request.method == "POST" and request.path == "/v1/images/generations":
            return self._generate_images(request)
        match = _FILE.fullmatch(request.path)
        if request.method == "GET" and match:
            image = self.images.get(match.group(1))
            if image is not None:
                return Reply(200, content=image, content_type="image/png")
            return Reply(404, openai_error("File not found", code="not_found"))
        return Reply(
            404, openai_error(f"Invalid URL ({request.method} {request.path})", code="unknown_url")
        )

    # -- endpoints -------------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        with self._ids_lock:
            if kind == "chat":
                self._completions += 1
                return self._completions
            self._images += 1
            return self._images

    def _chat(self, request: RecordedRequest) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            return _bad("We could not parse the JSON body of your request.")
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            return _bad("you must provide a model parameter", "model", "missing_required_parameter")
        if not isinstance(messages, list) or not messages:
            return _bad(
                "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
            )
        if not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            return _bad("Each message needs 'role' and 'content'.", "messages", "invalid_value")
        temperature = body.get("temperature")
        if temperature is not None and not (
            isinstance(temperature, int | float) and 0 <= temperature <= 2
        ):
            return _bad("temperature must be between 0 and 2.", "temperature", "invalid_value")
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and not (isinstance(max_tokens, int) and max_tokens > 0):
            return _bad("max_tokens must be a positive integer.", "max_tokens", "invalid_value")

        words = self.reply(body).split()
        finish_reason = "stop"
        if max_tokens is not None and len(words) > max_tokens:
            words, finish_reason = words[:max_tokens], "length"
        prompt_tokens = sum(len(_text(m.get("content")).split()) for m in messages)
        return Reply(
            200,
            {
                "id": f"chatcmpl-{self._next('chat')}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(words)},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(words),
                    "total_tokens": prompt_tokens + len(words),
                },
            },
        )

    def _generate_images(self, request: RecordedRequest) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            return _bad("We could not parse the JSON body of your request.")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _bad(
                "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
            )
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return _bad("n must be between 1 and 10.", "n", "invalid_value")
        size = body.get("size", "1024x1024")
        if not isinstance(size, str) or not _SIZE.fullmatch(size):
            return _bad(f"Invalid size {size!r}.", "size", "invalid_value")
        response_format = body.get("response_format", "url")
        if response_format not in ("url", "b64_json"):
            return _bad(
                "response_format must be 'url' or 'b64_json'.", "response_format", "invalid_value"
            )

        data: list[dict[str, str]] = []
        for _ in range(n):
            file_id = f"img-{self._next('image')}"
            self.images[file_id] = TINY_PNG
            if response_format == "b64_json":
                data.append({"b64_json": base64.b64encode(TINY_PNG).decode()})
            else:
                data.append({"url": f"{self.url}/files/{file_id}.png"})
        return Reply(200, {"created": int(time.time()), "data": data})


def _bad(message: str, param: str | None = None, code: str | None = None) -> Reply:
    return Reply(400, openai_error(message, code=code, param=param))
