"""Static files, production hardening and logging."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .environment import DEBUG, PRODUCTION, VAR_DIR, env_bool, env_int

# --- Static files -------------------------------------------------------------------------
# The admin's, the dev panel's and the API docs' (drf-spectacular-sidecar) files, found in
# the apps' static/ folders. With DEBUG on (the dev server, the test suite) WhiteNoise serves
# them from there as they are. With DEBUG off it serves what `collectstatic` wrote to
# STATIC_ROOT: hashed names (cached "forever", immutable) with gzip variants beside them.
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or VAR_DIR / "static").resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# --- Security (production) ----------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Probes and Prometheus talk plain HTTP to the pod: answer them instead of redirecting.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging ------------------------------------------------------------------------------
# JSON lines in production (or GENPIPE_LOG_FORMAT=json), plain text in development. Every
# line carries request_id / task_id / generation_id when known; credentials are masked
# (core.logs). Django's own loggers go through the same handler.
GENPIPE_LOG_FORMAT = os.environ.get("GENPIPE_LOG_FORMAT", "json" if PRODUCTION else "plain")
if GENPIPE_LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("GENPIPE_LOG_FORMAT must be 'json' or 'plain'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logs.ContextFilter"},
        "redact": {"()": "core.logs.RedactFilter"},
        "redis_outages": {"()": "core.outages.DropRedisOutages"},
    },
    "formatters": {
        "plain": {"()": "core.logs.PlainFormatter"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": GENPIPE_LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("GENPIPE_LOG_LEVEL", "INFO")},
    "loggers": {
        # No handlers of their own (Django's defaults would print some lines twice); the
        # dev server's per-request lines give way to genpipe.access, its errors remain.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # django-redis's swallowed errors, minus unreachable Redis (logged once per outage).
        "genpipe.cache.redis": {"filters": ["redis_outages"]},
        # One line per request (method, path, status, duration); WARNING silences it.
        "genpipe.access": {"level": os.environ.get("GENPIPE_ACCESS_LOG_LEVEL", "INFO")},
    },
}
