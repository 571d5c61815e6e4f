"""Credentials taken out of text: the one function logs and stored provider errors share.

``redact(text, secrets=...)`` replaces with ``***``:

- exact secret values: the ones passed in (a provider's own credential), the values of
  secret-looking environment variables (``*_KEY``, ``*_TOKEN``, ``*_SECRET``,
  ``*_PASSWORD``, ``*_CREDENTIALS``) and every credential this process has sent
  (:func:`secret_register`: the provider client registers the key it reads, whatever its
  variable is called) — also in their URL-encoded and JSON-escaped forms;
- anything shaped like a credential: ``Authorization`` header values (``Authorization:
  …``, ``'Authorization': '…'`` in a dict repr), ``Token``/``Bearer``/``Basic`` followed
  by a credential, ``api_key=``/``x-api-key:``/``password=``/``secret=``/``token=``…
  values, ``?key=``/``&key=`` query parameters, passwords in URLs, well-known key
  prefixes (``sk-…``, ``r8_…``, ``hf_…``, ``gsk_…``, ``xai-…``, ``AIza…``), JSON web
  tokens, and a long token mixing letters and digits right after "API key", "secret",
  "password" or "credential" ("Incorrect API key provided: …").

Ordinary text stays as it is: the bare word "key" (a prompt about a castle key, a cache
key), UUIDs and SHA-256 hex digests are left alone unless they sit in one of the
contexts above. Apply it to text that may carry someone else's words (log lines, error
messages from providers), not to our own identifiers.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
# Exact values shorter than this are not masked when they come from the environment or
# the registry (they would mask ordinary words); secrets passed in explicitly need 4.
MIN_SECRET_CHARS = 8
MIN_EXPLICIT_SECRET_CHARS = 4
# Texts up to this length are redacted once per set of known secrets (``redact``).
_REMEMBERED_CHARS = 160

_TOKEN_CHARS = r"A-Za-z0-9._~+/=-"
# A token with letters and digits, 16+ characters: what keys look like, words do not.
_ENTROPIC = rf"(?=[{_TOKEN_CHARS}]*\d)(?=[{_TOKEN_CHARS}]*[A-Za-z])[{_TOKEN_CHARS}]{{16,}}"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "Authorization: Token abc", "'HTTP_AUTHORIZATION': 'Bearer x'", "authorization=..."
    (
        re.compile(
            r"""(?i)(\b(?:http_)?(?:proxy[_-])?authorization["']?\s*[:=]\s*["']?)"""
            r"""[^"'\r\n,;}]+"""
        ),
        rf"\1{MASK}",
    ),
    # A credential after its scheme: 20+ characters, or 12+ with a digit ("Token
    # authentication failed" stays readable).
    (
        re.compile(
            r"(?i)\b(token|bearer|basic)(\s+)"
            r"(?:[A-Za-z0-9._~+/=-]{20,}|(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,})"
        ),
        rf"\1\2{MASK}",
    ),
    # A named credential and its value: "api_key=…", "'x-api-key': '…'", "password: …".
    (
        re.compile(
            r"""(?i)\b((?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|auth[_-]?token"""
            r"""|client[_-]?secret|secret[_-]?key|secret|password|passwd|pwd|token|credentials?)"""
            r"""["']?\s*[:=]\s*["']?)[^\s"'&,;}]+"""
        ),
        rf"\1{MASK}",
    ),
    # A "key" query parameter (Google-style APIs): "…/models?key=AIza…&alt=json".
    (re.compile(r"([?&;]key=)[^\s&#\"',;}]+", re.IGNORECASE), rf"\1{MASK}"),
    # A password in a URL.
    # (The scheme is bounded: unbounded, a long hyphenated word made this quadratic.)
    (
        re.compile(r"\b([a-z][a-z0-9+.-]{0,31}://[^\s:/@]+:)[^\s@/]+@", re.IGNORECASE),
        rf"\1{MASK}@",
    ),
    # Well-known key prefixes (OpenAI/Anthropic, Replicate, Hugging Face, Groq, xAI, Google).
    (re.compile(r"\b(sk-|r8_|hf_|gsk_|xai-|AIza)[A-Za-z0-9_-]{16,}"), rf"\1{MASK}"),
    # A Standard Webhooks signing secret (webhooks.signing): "whsec_" + base64.
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{16,}"), f"whsec_{MASK}"),
    # A JSON web token.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # A key-looking token after a key-ish phrase: "Incorrect API key provided: ab12…".
    (
        re.compile(
            r"(?i)\b((?:api|access|secret|private)[ _-]?key|secret|password|passphrase"
            r"|credentials?)(\s+(?:provided|given|supplied|used|sent|received|is|was))?"
            rf"(\s*[:=]?\s*[\"'`]?){_ENTROPIC}"
        ),
        rf"\1\2\3{MASK}",
    ),
]
_SECRET_ENV_NAME = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")

_registered: tuple[str, ...] = ()  # replaced, never mutated: readers need no lock
_registered_lock = threading.Lock()


@functools.cache
def env_secret_values() -> tuple[str, ...]:
    """Values of secret-looking env vars (``OPENAI_API_KEY``, ``DJANGO_SECRET_KEY``…);
    short values are left alone to avoid masking ordinary words. Cached: call
    ``env_secret_values.cache_clear()`` after changing the environment."""
    return tuple(
        {
            value
            for name, value in os.environ.items()
            if _SECRET_ENV_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
        }
    )


def secret_register(value: str) -> None:
    """Remember a credential this process sends, so every later :func:`redact` masks it
    (logs included), whatever the environment variable holding it is called."""
    global _registered
    if len(value) >= MIN_SECRET_CHARS and value not in _registered:
        with _registered_lock:
            if value not in _registered:
                _registered = (*_registered, value)


@functools.lru_cache(maxsize=1024)
def _forms(value: str) -> tuple[str, ...]:
    """A secret as it may appear in text: as is, URL-encoded, JSON-escaped."""
    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    return tuple(sorted(forms, key=len, reverse=True))


@functools.lru_cache(maxsize=16)
def _implicit_forms(env: tuple[str, ...], registered: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of the env and registered secrets, longest first (no partial leftovers)."""
    forms = {form for value in (*env, *registered) for form in _forms(value)}
    return tuple(sorted(forms, key=len, reverse=True))


def _exact_values(secrets: Iterable[str]) -> tuple[str, ...]:
    implicit = _implicit_forms(env_secret_values(), _registered)
    explicit = {
        form
        for secret in secrets
        if len(secret) >= MIN_EXPLICIT_SECRET_CHARS
        for form in _forms(secret)
    }
    if not explicit:
        return implicit
    return tuple(sorted(explicit.union(implicit), key=len, reverse=True))


def _window(text: str, size: int) -> str:
    """At most ``size`` characters of ``text``, cut after the last whitespace so no token
    (a key never holds whitespace) is cut in half and slips past the exact match."""
    if len(text) <= size:
        return text
    head = text[:size]
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    return head[:cut] if cut > 0 else ""


def redact(text: str, *, secrets: Iterable[str] = (), limit: int | None = None) -> str:
    """``text`` with credentials replaced by ``***`` (see the module docstring).

    With ``limit``, the result is at most ``limit`` characters, cut after redaction (so no
    half key survives a cut), and only a bounded head of a huge text is scanned.
    """
    if not text:
        return text
    if limit is not None:
        text = _window(text, max(4 * limit, 4096))
    exact = _exact_values(secrets)
    if limit is None and len(text) <= _REMEMBERED_CHARS:
        # Log lines repeat ("GET /api/v1/generations 200", a method, a path): a short text
        # is redacted once per set of known secrets.
        return _redact_short(text, exact)
    cleaned = _redact(text, exact)
    return cleaned if limit is None else cleaned[:limit]


# Every pattern above needs one of these in the text, lowercased: an ASCII text holding
# none of them is left alone without running the patterns. Only ASCII text: under
# IGNORECASE some other characters match ASCII letters (U+017F an "s", U+212A a "k").
_TRIGGERS = (
    "authoriz", "token", "bearer", "basic", "key", "secret", "pass", "pwd", "credential",
    "://", "sk-", "r8_", "hf_", "gsk_", "xai-", "aiza", "whsec_", "eyj",
)  # fmt: skip


def _may_hold_a_pattern(text: str) -> bool:
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(trigger in lowered for trigger in _TRIGGERS)


def _redact(text: str, exact: tuple[str, ...]) -> str:
    for secret in exact:
        if secret in text:
            text = text.replace(secret, MASK)
    if not _may_hold_a_pattern(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_redact_short = functools.lru_cache(maxsize=4096)(_redact)
