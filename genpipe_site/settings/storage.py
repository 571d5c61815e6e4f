"""PostgreSQL or SQLite, and the cache (django-redis, or the database cache)."""

from __future__ import annotations

import os

import dj_database_url

from core.database import database_pool_options, postgres_timeout_options
from core.outages import redis_connection_class

from .environment import VAR_DIR, env_bool, env_float, env_int

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
DATABASE_LOCK_TIMEOUT_MS = env_int("DATABASE_LOCK_TIMEOUT_MS", 0)
DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS", 0)
# core.prepared: the hot statements as PostgreSQL prepared statements (off for a pooler
# in transaction mode that does not carry them, e.g. PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # README "Timeouts": connect, statement and lock timeouts, and TCP keepalives so a
        # dead server host is noticed (manage.py migrate lifts the statement timeout).
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            postgres_timeout_options(
                connect_timeout_s=env_int("DATABASE_CONNECT_TIMEOUT", 5),
                statement_timeout_ms=DATABASE_STATEMENT_TIMEOUT_MS,
                lock_timeout_ms=DATABASE_LOCK_TIMEOUT_MS,
            )
        )
        if env_bool("DATABASE_POOL", False):
            # README "Database connections": the ASGI process (genpipe_site/asgi.py turns
            # this on) runs each request in a thread of its own, so it borrows a pooled
            # connection instead of opening one per request; a pool and persistent
            # connections exclude each other.
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"]["OPTIONS"]["pool"] = database_pool_options(
                min_size=env_int("DATABASE_POOL_MIN_SIZE", 2),
                max_size=env_int("DATABASE_POOL_MAX_SIZE", 20),
                timeout_s=env_float("DATABASE_POOL_TIMEOUT_S", 3.0),
            )
else:
    # VAR_DIR and the broker's folders are created when the apps are ready (core.apps).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "genpipe.sqlite3"),
            # IMMEDIATE makes every write transaction take the lock up front, so the
            # dedup check and the insert of the create flow are serialized across processes.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (generation cache slots, throttles, idempotency markers) -----------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.25)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "genpipe",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                # Reports outages once (core.outages); redis-py's pool does not retry.
                "CONNECTION_POOL_KWARGS": {"connection_class": redis_connection_class(REDIS_URL)},
                # A Redis outage is a cache miss, never a failed request.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    # Swallowed errors go to a logger whose filter drops the unreachable-Redis ones: the
    # connection logged those once per outage. Anything else keeps its traceback.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "genpipe.cache.redis"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "genpipe_cache",
            "KEY_PREFIX": "genpipe",
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }
