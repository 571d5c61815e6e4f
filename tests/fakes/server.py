"""Shared base for the local fake provider servers used by protocol tests.

A :class:`FakeServer` listens on ``127.0.0.1`` with an ephemeral port, serving HTTP/1.1
(keep-alive, always a ``Content-Length``) from a daemon thread of a ``ThreadingHTTPServer``.
It never touches the network beyond loopback.

Every request is recorded (:attr:`FakeServer.requests`, a :class:`RecordedRequest` per
request) before anything else happens, so counts include scripted requests.

Scripting: ``server.script("POST /v1/chat/completions", Status(429), Hang(5))`` queues
behaviours for requests matching a *route key* ``"<METHOD> <path glob>"``. Each matching
request consumes one behaviour, in order; once the queue is empty the server's normal
behaviour resumes. In the path glob ``*`` matches within one path segment, ``**`` across
segments and ``?`` one character; the method may be ``*``. The query string is ignored.
When several scripts match, the one registered first that still has behaviours wins.
Scripted behaviours run *instead of* the normal handler, authentication included
(except :class:`Slow`, which delays and then responds normally).

Behaviours:

* :class:`Status` -- a response with this status; ``body=None`` gives the protocol's
  default error body (e.g. OpenAI's ``{"error": {...}}``), ``headers`` are added.
* :class:`Hang` -- read the request, send nothing for ``seconds``, then close the
  connection. :meth:`FakeServer.close` wakes hung handlers at once.
* :class:`Slow` -- wait ``seconds``, then respond normally.
* :class:`Huge` -- 200 with a valid JSON body of exactly ``n_bytes`` bytes, streamed in
  chunks under a correct ``Content-Length``.
* :class:`Redirect` -- ``code`` (302 by default) with ``Location: location``.
* :class:`Garbage` -- 200 whose body is not JSON (``Content-Type: application/json`` by
  default, to exercise decode errors).
* :class:`Drop` -- close the connection without any response.
* :class:`Echo` -- ``code`` with the protocol's error body (:meth:`FakeServer.message_body`)
  whose message echoes what the client sent, as careless providers and proxies do: the
  ``Authorization`` header (``"authorization"``: "Incorrect API key provided: Bearer …"),
  the bare credential (``"key"``), or every request header as a dict repr (``"headers"``).

Subclasses implement :meth:`FakeServer.respond` (and usually :meth:`error_body` and
:meth:`unauthorized`); authentication with ``Authorization: Bearer <api_key>`` is checked
by the base when ``api_key`` is set, except for paths where :meth:`requires_auth` is false
(``/files/...`` by default: download URLs are unauthenticated, as with real providers).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

__all__ = [
    "Behaviour",
    "Drop",
    "Echo",
    "FakeServer",
    "Garbage",
    "Hang",
    "Huge",
    "RecordedRequest",
    "Redirect",
    "Reply",
    "Slow",
    "Status",
    "route_matches",
    "status_phrase",
]

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    time: float

    @property
    def key(self) -> str:
        """``"<METHOD> <path>"``, the form route keys match against."""
        return f"{self.method} {self.path}"

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


@dataclass(frozen=True)
class Reply:
    """A normal response produced by :meth:`FakeServer.respond`.

    ``body`` is JSON-encoded unless ``content`` (raw bytes) is given.
    """

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.content is not None:
            return self.content
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Status:
    """Respond with ``code``; ``body`` is a JSON value, raw bytes, or None (default error)."""

    code: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Send nothing for ``seconds`` (cut short by ``close()``), then drop the connection."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` (cut short by ``close()``), then respond normally."""

    seconds: float


@dataclass(frozen=True)
class Huge:
    """200 with a JSON body of exactly ``n_bytes`` bytes (at least 2)."""

    n_bytes: int

    def __post_init__(self) -> None:
        if self.n_bytes < 2:
            raise ValueError("Huge needs n_bytes >= 2 for a valid JSON body")

    def chunks(self) -> Iterable[bytes]:
        prefix, suffix = b'{"padding":"', b'"}'
        fill = self.n_bytes - len(prefix) - len(suffix)
        if fill < 0:  # too small for the padded object: "{}" plus JSON whitespace
            yield b"{}" + b" " * (self.n_bytes - 2)
            return
        yield prefix
        while fill > 0:
            step = min(fill, _CHUNK)
            yield b"x" * step
            fill -= step
        yield suffix


@dataclass(frozen=True)
class Redirect:
    """Redirect with ``code`` to ``location`` (absolute URL or path), empty body."""

    location: str
    code: int = 302


@dataclass(frozen=True)
class Garbage:
    """200 with a body that is not JSON."""

    body: bytes = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    content_type: str = "application/json"


@dataclass(frozen=True)
class Drop:
    """Close the connection without sending a response."""


@dataclass(frozen=True)
class Echo:
    """Respond with ``code`` and an error message echoing the request (see the module doc)."""

    code: int
    what: Literal["authorization", "key", "headers"] = "authorization"

    def message(self, request: RecordedRequest) -> str:
        authorization = request.header("Authorization") or ""
        if self.what == "authorization":
            return f"Incorrect API key provided: {authorization}"
        if self.what == "key":
            key = authorization.removeprefix("Bearer ")
            return f"Invalid request: the key {key} may not use this model."
        return f"Upstream failure; request headers were {request.headers!r}"


Behaviour = Status | Hang | Slow | Huge | Redirect | Garbage | Drop | Echo


@lru_cache(maxsize=256)
def _compile(route_key: str) -> tuple[str, re.Pattern[str]]:
    method, _, pattern = route_key.strip().partition(" ")
    pattern = pattern.strip()
    if not method or not pattern.startswith("/"):
        raise ValueError(f"route key must look like 'POST /v1/path', got {route_key!r}")
    regex, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex.append(".*")
            i += 2
            continue
        char = pattern[i]
        regex.append({"*": "[^/]*", "?": "[^/]"}.get(char) or re.escape(char))
        i += 1
    return method.upper(), re.compile("".join(regex))


def route_matches(route_key: str, method: str, path: str) -> bool:
    """Whether ``"<METHOD> <path glob>"`` matches a request's method and path."""
    want_method, pattern = _compile(route_key)
    return want_method in ("*", method.upper()) and pattern.fullmatch(path) is not None


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def abort_connections(self) -> None:
        """Shut down every open client socket so blocked handler threads return."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; requests are recorded on the FakeServer instead."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=split.query,
            headers=dict(self.headers.items()),
            body=raw,
            json=parsed,
            time=time.time(),
        )
        behaviour = fake._record(request)
        try:
            self._perform(fake, request, behaviour)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _perform(self, fake: FakeServer, request: RecordedRequest, behaviour: Any) -> None:
        match behaviour:
            case None:
                self._reply(fake._normal(request))
            case Slow(seconds=seconds):
                fake._closing.wait(seconds)
                self._reply(fake._normal(request))
            case Status(code=code, body=body, headers=headers):
                if body is None:
                    body = fake.error_body(code) if code >= 400 else None
                content = body if isinstance(body, bytes) else None
                self._reply(Reply(code, body, headers, content=content))
            case Hang(seconds=seconds):
                fake._closing.wait(seconds)
                self.close_connection = True
            case Drop():
                self.close_connection = True
            case Huge() as huge:
                self._start(200, {"Content-Type": "application/json"}, huge.n_bytes)
                for chunk in huge.chunks():
                    self.wfile.write(chunk)
            case Redirect(location=location, code=code):
                self._reply(Reply(code, headers={"Location": location}, content=b""))
            case Garbage(body=body, content_type=content_type):
                self._reply(Reply(200, content=body, content_type=content_type))
            case Echo(code=code) as echo:
                self._reply(Reply(code, fake.message_body(code, echo.message(request))))
            case _:
                raise TypeError(f"unknown behaviour {behaviour!r}")

    def _start(self, status: int, headers: Mapping[str, str], length: int) -> None:
        self.send_response(status)
        names = {name.lower() for name in headers}
        if "content-length" not in names:
            self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _reply(self, reply: Reply) -> None:
        payload = reply.payload()
        headers = {"Content-Type": reply.content_type}
        lowered = {name.lower(): name for name in headers}
        for name, value in reply.headers.items():
            headers.pop(lowered.get(name.lower(), name), None)
            headers[name] = value
        self._start(reply.status, headers, len(payload))
        if payload:
            self.wfile.write(payload)


@dataclass
class _Script:
    route_key: str
    queue: deque[Behaviour]


class FakeServer:
    """Base fake: records requests, applies scripted behaviours, checks Bearer auth.

    Args:
        api_key: when set, requests (except :meth:`requires_auth`-exempt paths) must carry
            ``Authorization: Bearer <api_key>``; otherwise :meth:`unauthorized` is returned.
    """

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.errors: list[str] = []  # exceptions raised by respond(); answered with 500
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[_Script] = []
        self._closing = threading.Event()
        self._closed = False
        self._httpd = _HTTPServer(self)
        port = self._httpd.server_address[1]
        self.port: int = port
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{port}",
            daemon=True,
        )
        self._thread.start()

    # -- hooks for subclasses -------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> Reply:
        """The normal (unscripted, authenticated) response to ``request``."""
        return Reply(404, self.error_body(404))

    def error_body(self, status: int) -> Any:
        """Default body for an error status (used by ``Status(code)`` without a body)."""
        return {"error": status_phrase(status)}

    def message_body(self, status: int, message: str) -> Any:
        """An error body in the protocol's shape carrying ``message`` (for :class:`Echo`)."""
        return {"error": message}

    def unauthorized(self) -> Reply:
        return Reply(401, self.error_body(401))

    def requires_auth(self, request: RecordedRequest) -> bool:
        return not request.path.startswith("/files/")

    # -- public API -----------------------------------------------------------------------

    def script(self, route_key: str, *behaviours: Behaviour) -> None:
        """Queue ``behaviours`` for requests matching ``route_key`` (one per request)."""
        _compile(route_key)  # validate early
        for behaviour in behaviours:
            if not isinstance(behaviour, Behaviour):
                raise TypeError(f"not a behaviour: {behaviour!r}")
        with self._cond:
            for existing in self._scripts:
                if existing.route_key == route_key:
                    existing.queue.extend(behaviours)
                    return
            self._scripts.append(_Script(route_key, deque(behaviours)))

    def pending(self, route_key: str) -> int:
        """How many scripted behaviours registered under exactly ``route_key`` remain."""
        with self._cond:
            return sum(len(s.queue) for s in self._scripts if s.route_key == route_key)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def requests_for(self, route_key: str) -> list[RecordedRequest]:
        """The recorded requests matching ``route_key``."""
        with self._cond:
            return [r for r in self._requests if route_matches(route_key, r.method, r.path)]

    def count(self, route_key: str) -> int:
        """How many requests matching ``route_key`` were received (scripted ones included)."""
        return len(self.requests_for(route_key))

    def wait_for_count(self, route_key: str, n: int, timeout: float = 5.0) -> bool:
        """Block until ``count(route_key) >= n``; False if ``timeout`` elapsed first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: (
                    sum(route_matches(route_key, r.method, r.path) for r in self._requests) >= n
                ),
                timeout,
            )

    def close(self) -> None:
        """Stop serving and release hung handlers; returns promptly; idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.abort_connections()
        self._thread.join(timeout=1.0)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}{' closed' if self._closed else ''}>"

    # -- internals ------------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> Behaviour | None:
        """Record ``request`` and pop the scripted behaviour for it, atomically."""
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
            for entry in self._scripts:
                if entry.queue and route_matches(entry.route_key, request.method, request.path):
                    return entry.queue.popleft()
        return None

    def _normal(self, request: RecordedRequest) -> Reply:
        authorized = request.header("Authorization") == f"Bearer {self.api_key}"
        if self.api_key is not None and self.requires_auth(request) and not authorized:
            return self.unauthorized()
        try:
            return self.respond(request)
        except Exception as exc:  # a bug in the fake: surface it to the test
            self.errors.append(f"{request.key}: {exc!r}")
            return Reply(500, self.error_body(500))
