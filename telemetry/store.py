"""The raw Redis client telemetry writes to, with short timeouts.

``None`` when no ``REDIS_URL`` is configured: recording is skipped and every figure is
computed from the database. The client fails within ``REDIS_SOCKET_TIMEOUT`` (connect and
each reply) and never retries; an unreachable Redis is reported once per outage by
``core.outages``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import redis
from django.conf import settings

from core.outages import is_redis_outage, redis_client

logger = logging.getLogger("genpipe.telemetry")

# Redis failures swallowed by telemetry in this process (exposed for operators and tests).
FAILURES = {"count": 0}


@functools.cache
def _client(url: str, timeout: float) -> redis.Redis:
    return redis_client(url, timeout=timeout, decode_responses=True)


def telemetry_client() -> redis.Redis | None:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    return _client(url, float(settings.REDIS_SOCKET_TIMEOUT))


def count_failure(what: str, exc: BaseException) -> None:
    """Count a swallowed telemetry failure. Redis being unreachable was already logged, once
    per outage, by the connection; anything else (a script error) is logged here."""
    FAILURES["count"] += 1
    if not is_redis_outage(exc):
        logger.warning("telemetry %s failed: %s: %s", what, type(exc).__name__, exc)


def run_script(client: redis.Redis, script: str, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA in one round trip; loads the script on the rare NOSCRIPT."""
    sha = script_sha(script)
    try:
        return client.evalsha(sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        return client.eval(script, len(keys), *keys, *args)


@functools.cache
def script_sha(script: str) -> str:
    import hashlib

    return hashlib.sha1(script.encode()).hexdigest()
