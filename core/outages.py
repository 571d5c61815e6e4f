"""One log line per dependency outage, not a traceback per request.

While Redis, the broker or the database is down every request that touches it fails the
same way; logging each failure buried the first, useful line under thousands of copies.
Here each dependency (``"redis 10.0.0.5:6379"``, ``"broker"``, ``"database"``) has a state
per process:

- the first failure logs one WARNING on ``genpipe.outage``: the dependency, the error class
  and its message, no traceback;
- later failures are only counted;
- the first success after that logs one INFO, ``recovered after N failures``. A dependency
  that has not failed for ``QUIET_S`` seconds counts as recovered even when no success was
  reported (some callers only see failures), so the next failure opens a new outage.

A failure also makes callers fail fast: for ``FAIL_FAST_S`` after the last real failure,
Redis commands and broker publishes are refused at once (counted, not attempted) instead of
each waiting out its socket timeout; the first call after that window tries for real. So a
hung Redis costs a request one socket timeout per dependency, not one per Redis command.

``outage_success`` is on the hot path of every Redis reply: while nothing is down it is one
dictionary lookup. Redis clients report through ``RedisConnection`` (a redis-py connection
class given to the cache, telemetry and probe clients); the broker publish and the API's
database error mapping call ``outage_failure`` / ``outage_success`` themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger("genpipe.outage")

QUIET_S = 60.0
FAIL_FAST_S = 1.0


@dataclass
class _Outage:
    failures: int
    last_failure: float


_DOWN: dict[str, _Outage] = {}
_LOCK = threading.Lock()


def outage_failure(dependency: str, exc: BaseException) -> None:
    """Count a failure of ``dependency``; the first of an outage logs one WARNING."""
    now = time.monotonic()
    with _LOCK:
        state = _DOWN.get(dependency)
        if state is not None and now - state.last_failure > QUIET_S:
            _recovered(dependency, state, quiet=True)
            state = None
        if state is not None:
            state.failures += 1
            state.last_failure = now
            return
        _DOWN[dependency] = _Outage(failures=1, last_failure=now)
    message = (str(exc).strip() or "(no message)").splitlines()[0]  # no server CONTEXT
    logger.warning(
        "%s unavailable: %s: %s (further failures are counted, not logged, until it recovers)",
        dependency,
        type(exc).__name__,
        message,
        extra={"dependency": dependency, "error_class": type(exc).__name__},
    )


def outage_fail_fast(dependency: str) -> bool:
    """Whether ``dependency`` failed less than ``FAIL_FAST_S`` ago; if so the caller skips
    the call, and it is counted as a failure (without extending the window)."""
    state = _DOWN.get(dependency)
    if state is None or time.monotonic() - state.last_failure >= FAIL_FAST_S:
        return False
    with _LOCK:
        state.failures += 1
    return True


def outage_success(dependency: str) -> None:
    """``dependency`` worked: closes its outage, if any, with one INFO line."""
    if dependency not in _DOWN:  # the common case: no lock, one lookup
        return
    with _LOCK:
        state = _DOWN.pop(dependency, None)
    if state is not None:
        _recovered(dependency, state, quiet=False)


def outage_failures(dependency: str) -> int:
    """Failures counted in the current outage of ``dependency`` (0 when it is up)."""
    state = _DOWN.get(dependency)
    return state.failures if state is not None else 0


def outages_reset() -> None:
    """Forget every outage (tests)."""
    with _LOCK:
        _DOWN.clear()


def _recovered(dependency: str, state: _Outage, *, quiet: bool) -> None:
    _DOWN.pop(dependency, None)
    how = f"no failure for {QUIET_S:.0f} s" if quiet else "working again"
    logger.info(
        "%s recovered after %d failure%s (%s)",
        dependency,
        state.failures,
        "" if state.failures == 1 else "s",
        how,
        extra={"dependency": dependency, "failures": state.failures},
    )


# --- Redis --------------------------------------------------------------------------------

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


def is_redis_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is Redis being unreachable or too slow."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _REDIS_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _OutageReporting:
    """Mixin for redis-py connections: every reply and every socket failure is reported."""

    host: str
    port: int
    path: str

    def _dependency(self) -> str:
        return f"redis {getattr(self, 'path', '') or f'{self.host}:{self.port}'}"

    def _report(self, exc: BaseException) -> None:
        if not getattr(exc, "_genpipe_outage_reported", False):  # connect() inside send
            outage_failure(self._dependency(), exc)
            exc._genpipe_outage_reported = True  # type: ignore[attr-defined]

    def _fail_fast(self) -> None:
        if outage_fail_fast(self._dependency()):
            raise redis.ConnectionError(f"{self._dependency()} failed just now; not tried")

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        self._fail_fast()
        try:
            return super().connect(*args, **kwargs)  # type: ignore[misc]
        except _REDIS_ERRORS as exc:
            self._report(exc)
            raise

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        self._fail_fast()
        try:
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]
        except _REDIS_ERRORS as exc:
            self._report(exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().read_response(*args, **kwargs)  # type: ignore[misc]
        except _REDIS_ERRORS as exc:
            self._report(exc)
            raise
        outage_success(self._dependency())
        return response


class RedisConnection(_OutageReporting, redis.Connection):
    pass


class RedisSSLConnection(_OutageReporting, redis.SSLConnection):
    pass


class RedisUnixConnection(_OutageReporting, redis.UnixDomainSocketConnection):
    pass


def redis_connection_class(url: str) -> type[redis.connection.AbstractConnection]:
    """The outage-reporting connection class for a ``redis://``, ``rediss://`` or
    ``unix://`` URL (the scheme decides the transport, as in redis-py's ``from_url``)."""
    if url.startswith("rediss://"):
        return RedisSSLConnection
    if url.startswith("unix://"):
        return RedisUnixConnection
    return RedisConnection


def redis_client(url: str, *, timeout: float, **kwargs: Any) -> redis.Redis:
    """A redis-py client for ``url`` that fails within ``timeout`` (connect and each reply)
    instead of retrying: redis-py's own default retries 10 times with backoff, which
    turned a 0.25 s timeout into seconds per call while Redis hung."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        connection_class=redis_connection_class(url),
        **kwargs,
    )


class DropRedisOutages(logging.Filter):
    """Logging filter for django-redis's "Exception ignored" records: drops those caused by
    an unreachable or hung Redis (the connection reported the outage once already)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or not is_redis_outage(exc)
