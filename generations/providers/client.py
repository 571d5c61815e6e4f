"""The one HTTP client every provider adapter uses.

A ``requests.Session`` with explicit (connect, read) timeouts, no automatic retries (Celery
is the only retry layer), no redirects (a 3xx is an error: the configured base URL is the
only host we talk to), a cap on the response size, and the credential read from the
environment variable the Provider names — never stored, never logged. Every failure
becomes a ``ProviderTransientError`` (retry) or ``ProviderPermanentError`` (give up) with
a stable code. The provider's error text goes into the message only after redaction
(:meth:`ProviderClient.redact`: the credential itself and anything key-shaped), before it
is cut to ``MAX_ERROR_CHARS``, so no part of a key survives a cut.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

from core.redaction import redact, secret_register

from .base import ProviderConfig, ProviderPermanentError, ProviderTransientError

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_ERROR_CHARS = 500  # of the provider's own error text kept in a message
_CONTENT_REJECTED = ("content_policy", "content_filter", "safety", "moderation")


@dataclass(frozen=True)
class ProviderResponse:
    status: int
    data: Any


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_text(data: Any) -> tuple[str, str]:
    """(message, code) from an error body in the usual shapes, uncut and unredacted."""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or "")
            code = str(error.get("code") or error.get("type") or "")
            return message, code
        if isinstance(error, str):
            return error, ""
        if "detail" in data:
            return str(data["detail"]), ""
    return "", ""


class ProviderClient:
    def __init__(self, config: ProviderConfig, *, timeout_s: float | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/") + "/"
        read = config.read_timeout_s if timeout_s is None else min(timeout_s, config.read_timeout_s)
        self.timeout = (config.connect_timeout_s, read)
        self.max_bytes = int(config.settings.get("max_response_bytes") or MAX_RESPONSE_BYTES)
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.trust_env = False  # no proxies or .netrc credentials from the host

    def _credential(self) -> str:
        name = self.config.credential_env_var
        return (os.environ.get(name) or "") if name else ""

    def redact(self, text: str) -> str:
        """Provider-supplied ``text`` fit to store and show: this provider's credential and
        anything key-shaped masked (``core.redaction.redact``), then cut to
        ``MAX_ERROR_CHARS``."""
        return redact(text, secrets=(self._credential(),), limit=MAX_ERROR_CHARS)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "genpipe/1"}
        name = self.config.credential_env_var
        if name:
            secret = self._credential()
            if not secret:
                raise ProviderPermanentError(
                    "provider_credential_missing",
                    f"Environment variable {name} is not set for provider {self.config.id}.",
                )
            secret_register(secret)  # masked in this process's logs and errors from now on
            headers["Authorization"] = f"Bearer {secret}"
        return headers

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method: str, path: str, *, json_body: Any = None) -> ProviderResponse:
        """One call; returns the decoded JSON of a 2xx answer or raises a provider error."""
        try:
            response = self.session.request(
                method,
                self.url(path),
                json=json_body,
                headers=self._headers(),
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise ProviderTransientError("provider_timeout", f"{type(exc).__name__}") from exc
        except requests.ConnectionError as exc:
            raise ProviderTransientError("provider_unreachable", "Connection failed.") from exc
        except requests.RequestException as exc:
            raise ProviderPermanentError("provider_request_failed", type(exc).__name__) from exc
        with response:
            body = self._read(response)
        return self._interpret(response, body)

    def _read(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if (
            declared
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > self.max_bytes
        ):
            raise ProviderPermanentError(
                "provider_response_too_large", f"Response of {declared} bytes refused."
            )
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ProviderPermanentError(
                        "provider_response_too_large", f"Response over {self.max_bytes} bytes."
                    )
                chunks.append(chunk)
        except requests.Timeout as exc:
            raise ProviderTransientError("provider_timeout", "Read timed out.") from exc
        except requests.RequestException as exc:
            raise ProviderTransientError("provider_unreachable", type(exc).__name__) from exc
        return b"".join(chunks)

    def _interpret(self, response: requests.Response, body: bytes) -> ProviderResponse:
        status = response.status_code
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
            if 200 <= status < 300:
                raise ProviderTransientError(
                    "provider_bad_response", "The provider answered with something not JSON."
                ) from None
        if 200 <= status < 300:
            return ProviderResponse(status, data)
        raw, code = _error_text(data)
        message = self.redact(raw)
        detail = f"HTTP {status}" + (f": {message}" if message else "")
        if 300 <= status < 400:
            raise ProviderPermanentError("provider_redirect", f"{detail} (redirects refused)")
        if status == 429:
            error = ProviderTransientError("provider_rate_limited", detail)
            error.retry_after = _retry_after(response)
            raise error
        if status >= 500:
            error = ProviderTransientError("provider_server_error", detail)
            error.retry_after = _retry_after(response)
            raise error
        if status in (401, 403):
            raise ProviderPermanentError("provider_auth_failed", detail)
        if any(word in (code + raw[:MAX_ERROR_CHARS]).lower() for word in _CONTENT_REJECTED):
            raise ProviderPermanentError("provider_content_rejected", detail)
        if status in (400, 422):
            raise ProviderPermanentError("provider_invalid_request", detail)
        if status == 404:
            raise ProviderPermanentError("provider_not_found", detail)
        raise ProviderPermanentError("provider_rejected", detail)

    def close(self) -> None:
        self.session.close()
