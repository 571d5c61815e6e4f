"""Zero-latency OpenAI-compatible server: the upstream of the peer benchmark.

    python bench/zero_openai.py --port 8000

Answers ``POST /v1/chat/completions`` at once, in the shape of OpenAI's chat completion
object: the assistant's content is ``echo: `` followed by the last user message, so a
client can tell that an answer belongs to its own request (a cache that returned another
request's answer shows). ``GET /v1/models`` lists the one model the server claims to be,
``GET /health`` answers ``{"status": "ok"}``, and ``GET /_stats`` returns how many requests
each path received (the harness reads it to check that a cache hit never reached here and a
pass-through always did). Anything else: an OpenAI-shaped error, 404 or 400.

Standard library only, one asyncio event loop, HTTP/1.1 keep-alive: about a tenth of a
millisecond of CPU per request, far below what sits in front of it, and it runs in its own
process so its CPU is counted apart. No streaming (``"stream": true`` gets a 400).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import time
from collections import Counter
from typing import Any

MAX_BODY = 1 << 20
MAX_HEADER = 64 << 10
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}


class BadRequest(Exception):
    """The request cannot be parsed: answer 400 and close the connection."""


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error envelope."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class ZeroOpenAI:
    """The request handlers, and the per-path counters of ``/_stats``."""

    def __init__(self, model: str = "zero") -> None:
        self.model = model
        self.counts: Counter[str] = Counter()
        self.ids = itertools.count(1)

    def chat_completion(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return 400, error_body(400, "the body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, error_body(400, "messages must be a non-empty list")
        if body.get("stream"):
            return 400, error_body(400, "streaming is not supported by this server")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = _text(users[-1].get("content")) if users else ""
        content = f"echo: {prompt}"
        prompt_tokens = sum(
            len(_text(m.get("content")).split()) for m in messages if isinstance(m, dict)
        )
        completion_tokens = len(content.split())
        return 200, {
            "id": f"chatcmpl-zero-{next(self.ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "system_fingerprint": "zero",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def handle(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0]
        self.counts[path] += 1
        if path in ("/v1/chat/completions", "/chat/completions"):
            if method != "POST":
                return 405, error_body(405, f"{method} not allowed on {path}")
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, error_body(400, "the body is not valid JSON")
            return self.chat_completion(body)
        if method != "GET":
            return 404, error_body(404, f"no route {method} {path}")
        if path in ("/v1/models", "/models"):
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "bench"}
            return 200, {"object": "list", "data": [model]}
        if path == "/health":
            return 200, {"status": "ok"}
        if path == "/_stats":
            return 200, {"requests": dict(self.counts)}
        return 404, error_body(404, f"no route {method} {path}")


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        size_total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            size_total += size
            if size_total > MAX_BODY:
                raise BadRequest("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or "0")
    if length < 0 or length > MAX_BODY:
        raise BadRequest("bad content-length")
    return await reader.readexactly(length) if length else b""


def _response(status: int, doc: dict[str, Any], keep_alive: bool) -> bytes:
    payload = json.dumps(doc, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + payload


async def serve_connection(
    app: ZeroOpenAI, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one connection's requests one after the other until it closes."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # closed between requests
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                writer.write(_response(400, error_body(400, "bad request line"), False))
                return
            method, path, version = parts
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            connection = headers.get("connection", "").lower()
            keep_alive = connection != "close" and (
                version == "HTTP/1.1" or connection == "keep-alive"
            )
            try:
                raw = await _read_body(reader, headers)
            except (BadRequest, ValueError) as exc:
                writer.write(_response(400, error_body(400, str(exc)), False))
                return
            status, doc = app.handle(method, path, raw)
            writer.write(_response(status, doc, keep_alive))
            await writer.drain()
            if not keep_alive:
                return
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return
    finally:
        writer.close()


async def serve(host: str, port: int, model: str) -> None:
    app = ZeroOpenAI(model)
    server = await asyncio.start_server(
        lambda r, w: serve_connection(app, r, w), host, port, limit=MAX_HEADER, backlog=512
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"zero-latency OpenAI server on http://{host}:{bound}/v1 (model {model})", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--model", default="zero", help="the model id /v1/models lists")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
