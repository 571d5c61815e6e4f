"""Liveness and readiness probes: ``/healthz`` and ``/readyz``.

Plain Django views: no authentication, no DRF throttles, nothing logged per probe when all
is well. ``/healthz`` answers as long as the process serves requests and touches nothing
else. ``/readyz`` checks the database (``SELECT 1``) and, when ``REDIS_URL`` is set, Redis
(``PING``); each check runs on its own thread with a hard deadline (``CHECK_TIMEOUT_S``), so
a black-holed dependency cannot hold the probe (or a web thread) for longer. Failures are
reported by exception class only: the probe is public, driver messages name hosts.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .errors import envelope
from .outages import redis_client

logger = logging.getLogger("genpipe.health")

CHECK_TIMEOUT_S = 0.5


def _database_ping() -> None:
    # Runs on a probe thread: its connection is its own and is closed right after.
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    return redis_client(url, timeout=CHECK_TIMEOUT_S)


def _redis_ping() -> None:
    _redis_client(settings.REDIS_URL).ping()


def _run(check: Callable[[], None], timeout: float) -> dict[str, Any]:
    """Run ``check`` on a daemon thread; its outcome within ``timeout`` seconds."""
    outcome: dict[str, Any] = {}
    started = time.perf_counter()

    def target() -> None:
        try:
            check()
            outcome["status"] = "ok"
        except Exception as exc:
            outcome.update(status="error", error=type(exc).__name__)
            logger.warning("readiness check %s failed: %s", check.__name__, exc)

    thread = threading.Thread(target=target, name="genpipe-readyz", daemon=True)
    thread.start()
    thread.join(timeout)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if thread.is_alive() or "status" not in outcome:
        logger.warning("readiness check %s timed out after %s s", check.__name__, timeout)
        return {"status": "error", "error": "timeout", "latency_ms": elapsed_ms}
    return {**outcome, "latency_ms": elapsed_ms}


def readiness_checks() -> dict[str, dict[str, Any]]:
    """Each dependency's ``{"status": "ok" | "error" | "skipped", …}``."""
    checks = {"database": _run(_database_ping, CHECK_TIMEOUT_S)}
    if settings.REDIS_URL:
        checks["redis"] = _run(_redis_ping, CHECK_TIMEOUT_S)
    else:
        checks["redis"] = {"status": "skipped", "reason": "REDIS_URL is not set"}
    return checks


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 ``{"status": "ok"}`` while the process serves requests."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 with every check, or 503 with the error envelope and every check."""
    checks = readiness_checks()
    failed = sorted(name for name, check in checks.items() if check["status"] == "error")
    if not failed:
        return JsonResponse({"status": "ok", "checks": checks})
    body = envelope(
        "not_ready",
        f"Not ready: {', '.join(failed)} unavailable.",
        {name: [{"code": "unavailable", "message": checks[name]["error"]}] for name in failed},
    )
    return JsonResponse({**body, "checks": checks}, status=503, headers={"Retry-After": "5"})
