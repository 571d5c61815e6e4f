"""The one interface every provider adapter implements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.redaction import redact

MAX_MESSAGE_CHARS = 2000  # what a generation and an attempt row keep of a message
# Permanent failures that are still the provider's fault (its answer, not our request).
PROVIDER_SIDE_PERMANENT_CODES = frozenset({"provider_redirect", "provider_response_too_large"})


class ProviderError(Exception):
    """A provider call failed. ``code`` is stable; ``transient`` says whether to retry.

    ``retry_after`` carries the provider's ``Retry-After`` (seconds) when it sent one.
    The message is stored and shown to workspace members, so it is redacted here
    (``core.redaction.redact``, plus the ``secrets`` passed in, e.g. the provider's
    credential): no adapter can forget to.
    """

    transient = False
    retry_after: float | None = None

    def __init__(self, code: str, message: str, *, secrets: Iterable[str] = ()) -> None:
        message = redact(message, secrets=secrets, limit=MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def provider_fault(self) -> bool:
        """Does this failure count against the provider's health (the circuit breaker)?

        Timeouts, connection errors, 5xx, 429 and the adapters' other transient codes do,
        and so do redirects and oversized answers; a request the provider rejects as
        invalid, unsafe or unauthorized is the request's fault and fails it alone.
        """
        return self.transient or self.code in PROVIDER_SIDE_PERMANENT_CODES


class ProviderTransientError(ProviderError):
    transient = True


class ProviderPermanentError(ProviderError):
    transient = False


@dataclass(frozen=True)
class ProviderConfig:
    """What an adapter may know about its Provider row."""

    id: str
    adapter: str
    base_url: str = ""
    credential_env_var: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0


@dataclass(frozen=True)
class ProviderRequest:
    generation_id: str
    operation_type: str
    prompt: str
    seed: str
    attempt_number: int
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None  # the node's fallback.timeout_ms, when it set one

    def provider_block(self, provider_id: str) -> Mapping[str, Any]:
        """The request's ``style.<provider_id>`` block (model, size, ... for that provider)."""
        block = (self.params.get("style") or {}).get(provider_id) or {}
        return block if isinstance(block, Mapping) else {}


@dataclass(frozen=True)
class ProviderResult:
    text: str = ""
    media_url: str = ""
    media_type: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    images: int = 0
    video_seconds: float = 0.0
    provider_job_id: str = ""

    def as_result_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metadata": dict(self.metadata)}
        if self.text:
            out["text"] = self.text
        if self.media_url:
            out["media_url"] = self.media_url
            out["media_type"] = self.media_type
        return out


@dataclass(frozen=True)
class JobStatus:
    """Where an asynchronous provider job stands."""

    state: str  # "running" | "succeeded" | "failed" | "canceled"
    result: ProviderResult | None = None
    error_code: str = ""
    error_message: str = ""


class ProviderAdapter(Protocol):
    """Synchronous adapters implement ``generate``; asynchronous ones (``is_async``)
    implement ``submit``, ``poll`` and ``cancel`` instead."""

    is_async: bool

    def generate(self, request: ProviderRequest) -> ProviderResult: ...

    def submit(self, request: ProviderRequest) -> str: ...

    def poll(self, job_id: str, request: ProviderRequest) -> JobStatus: ...

    def cancel(self, job_id: str) -> None: ...
