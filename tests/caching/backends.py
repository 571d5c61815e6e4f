"""Cache backends for tests: the database cache (the embedded default) and a cache that
cannot be reached (django-redis pointed at a port nobody listens on)."""

from __future__ import annotations

import copy
import socket
from typing import Any

from django.core.management import call_command


def use_database_cache(settings: Any) -> None:
    """Hold the slots in a database cache, as the embedded default does (the table is
    created inside the test's transaction and rolled back with it)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "genpipe_flush_test_cache",
        "KEY_PREFIX": caches["default"].get("KEY_PREFIX", "genpipe"),
        "OPTIONS": {"MAX_ENTRIES": 1_000_000},  # as the embedded default: no culling
    }
    settings.CACHES = caches
    call_command("createcachetable", verbosity=0)


def closed_port() -> int:
    """A local TCP port with no listener (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def point_cache_at_closed_port(settings: Any, *, ignore_exceptions: bool = True) -> None:
    """Swap the default cache for django-redis on a closed port, configured as production
    configures it (short timeouts; ``IGNORE_EXCEPTIONS`` unless told otherwise)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/1",
        "KEY_PREFIX": caches["default"].get("KEY_PREFIX", "genpipe"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
            "IGNORE_EXCEPTIONS": ignore_exceptions,
        },
    }
    settings.CACHES = caches
