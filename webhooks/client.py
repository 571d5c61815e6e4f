"""The one outbound HTTP seam of webhooks: a checked POST to a receiver.

- Targets: ``http``/``https`` only; the host is resolved and every address must be
  public (no private, loopback, link-local, reserved, multicast or unspecified address)
  unless ``GENPIPE_WEBHOOK_ALLOW_PRIVATE``. The address actually connected to is checked
  again on every new connection, so a DNS answer that changes after the check (rebinding)
  cannot reach an internal host.
- No redirects (a 3xx is a failed attempt), no proxies from the environment, a
  (connect, read) timeout of at most ``GENPIPE_WEBHOOK_TIMEOUT_S`` (15 s), and at most
  ``RESPONSE_CAP`` bytes of the answer read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

RESPONSE_CAP = 64 * 1024
CONNECT_TIMEOUT_S = 5.0
ALLOWED_SCHEMES = ("http", "https")


class TargetRefused(Exception):
    """The URL is malformed, or names (or reached) an address webhooks may not call."""

    def __init__(self, message: str, *, code: str = "webhook_url_not_allowed") -> None:
        super().__init__(message)
        self.code = code


class _PeerRefused(OSError):
    """Raised inside urllib3 when the connected address is not allowed."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _allow_private() -> bool:
    return bool(getattr(settings, "GENPIPE_WEBHOOK_ALLOW_PRIVATE", False))


def url_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or ``TargetRefused`` (``webhook_url_invalid``)."""
    if not url or len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetRefused("Not a valid URL.", code="webhook_url_invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("Not a valid URL.", code="webhook_url_invalid") from exc
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise TargetRefused("The URL must be http(s)://host/…", code="webhook_url_invalid")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def url_check(url: str) -> None:
    """Refuse a URL webhooks may not call (``TargetRefused``); resolves its host."""
    _, host, port = url_parts(url)
    if _allow_private():
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"The host {host!r} does not resolve.") from exc
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(address_allowed(str(a)) for a in addresses):
        raise TargetRefused(
            "The URL resolves to a private, loopback or link-local address; webhooks only "
            "call public addresses."
        )


def _check_peer(sock: socket.socket) -> None:
    if _allow_private():
        return
    address = sock.getpeername()[0]
    if not address_allowed(address):
        sock.close()
        raise _PeerRefused(f"connected to a non-public address {address}")


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[assignment]
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: we check the peer
        adapter = _CheckedAdapter(max_retries=0, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    latency_ms: int
    error: str  # empty on a 2xx
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, _PeerRefused):
            return True
        stack.extend([item.__cause__, item.__context__, *item.args])
        stack.append(getattr(item, "reason", None))
    return False


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def webhook_post(url: str, *, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url``; never raises for a network or HTTP failure."""
    timeout = float(getattr(settings, "GENPIPE_WEBHOOK_TIMEOUT_S", 15.0))
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        url_check(url)
    except TargetRefused as exc:
        return PostResult(None, 0, f"{exc.code}: {exc}")
    try:
        response = _session().post(
            url,
            data=body,
            headers={"content-type": "application/json", **headers},
            timeout=(min(CONNECT_TIMEOUT_S, timeout), timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return PostResult(None, elapsed(), f"timeout: no answer within {timeout:g} s")
    except requests.RequestException as exc:
        if _refused(exc):
            return PostResult(None, elapsed(), "webhook_url_not_allowed: non-public address")
        return PostResult(None, elapsed(), f"connection_error: {type(exc).__name__}")
    # The status line is the answer; read (and drop) at most RESPONSE_CAP bytes of body.
    with contextlib.suppress(Exception):
        response.raw.read(RESPONSE_CAP, decode_content=False)
    response.close()
    code = response.status_code
    if 200 <= code < 300:
        return PostResult(code, elapsed(), "")
    if 300 <= code < 400:
        error = f"redirect_not_followed: HTTP {code}"
    else:
        error = f"http_status: HTTP {code}"
    return PostResult(code, elapsed(), error, _retry_after(response.headers.get("Retry-After")))
