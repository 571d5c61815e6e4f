"""genpipe settings, read from the environment.

Nothing set gives the embedded default: a SQLite file, a database-backed Django cache and a
Celery broker on kombu's filesystem transport, all under ``GENPIPE_VAR_DIR`` (``./var``).
``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL, django-redis
and a Redis/RabbitMQ broker. ``GENPIPE_ENV=production`` turns on the deploy hardening and
refuses to start without ``DJANGO_SECRET_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.database import database_pool_options, postgres_timeout_options
from core.outages import redis_connection_class

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


GENPIPE_ENV = os.environ.get("GENPIPE_ENV", "development")
PRODUCTION = GENPIPE_ENV == "production"
VAR_DIR = Path(os.environ.get("GENPIPE_VAR_DIR", BASE_DIR / "var")).resolve()

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when GENPIPE_ENV=production")
    SECRET_KEY = "genpipe-development-only-insecure-key"

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "*").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "devpanel.apps.DevpanelAdminConfig",  # django.contrib.admin, its default site genpipe's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc served from our static files
    "core.apps.CoreConfig",
    "generations",
    "telemetry",
    "caching",
    "experiments",
    "budgets",
    "webhooks",
    "observability.apps.ObservabilityConfig",
    "streams",
    "devpanel.apps.DevpanelConfig",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # first: every later log line has the id
    "core.middleware.BadInputMiddleware",  # NUL in a query string or header: 400
    # API paths: a body over the cap is a 413 before any work, an unrouted path a 404,
    # both in the envelope (never Django's HTML or debug pages).
    "core.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, dev panel, API docs) straight from the web process, before the
    # session and auth work a static request does not need.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "genpipe_site.urls"
WSGI_APPLICATION = "genpipe_site.wsgi.application"
ASGI_APPLICATION = "genpipe_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
DATABASE_LOCK_TIMEOUT_MS = env_int("DATABASE_LOCK_TIMEOUT_MS", 0)
DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS", 0)
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

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
# The provider read timeout bounds a provider call; the soft and hard task limits sit above
# it and the broker's visibility timeout above both (asserted in tests).
PROVIDER_DEFAULT_READ_TIMEOUT_S = env_float("PROVIDER_DEFAULT_READ_TIMEOUT_S", 120.0)
CELERY_TASK_SOFT_TIME_LIMIT = int(PROVIDER_DEFAULT_READ_TIMEOUT_S + 30)
CELERY_TASK_TIME_LIMIT = int(PROVIDER_DEFAULT_READ_TIMEOUT_S + 60)
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 900)
BROKER_PUBLISH_TIMEOUT = env_float("BROKER_PUBLISH_TIMEOUT", 0.25)
BROKER_WORKER_SOCKET_TIMEOUT = env_float("BROKER_WORKER_SOCKET_TIMEOUT", 10.0)
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # Publishers (web, beat, commands) give up fast: a create pays at most about
    # connect + one reply of BROKER_PUBLISH_TIMEOUT, once (the enqueue does not retry; the
    # row stays pending and the sweeper publishes it later). The worker's own connection
    # gets GENPIPE_WORKER_BROKER_* instead (genpipe_site.celery, on worker start-up).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": BROKER_PUBLISH_TIMEOUT,
        "socket_timeout": BROKER_PUBLISH_TIMEOUT,
        "socket_keepalive": True,
        "max_retries": 0,  # kombu's reconnect loop when a producer needs a connection
    }
    GENPIPE_WORKER_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Above kombu's 1 s BRPOP server-side timeout, so a blocking read on an idle queue
        # never times out; it bounds the worker's own publishes and acks on a hung Redis.
        "socket_connect_timeout": BROKER_WORKER_SOCKET_TIMEOUT,
        "socket_timeout": BROKER_WORKER_SOCKET_TIMEOUT,
        "socket_keepalive": True,
        # kombu drops a BRPOP connection whose reply is overdue by this much, and redis-py
        # PINGs pooled connections idle for longer.
        "health_check_interval": 25,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, made to survive a connection lost with messages unacked.
    CELERY_BROKER_TRANSPORT = "genpipe_site.broker:Transport"
GENPIPE_WORKER_BROKER_CONNECTION_TIMEOUT = BROKER_WORKER_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_PUBLISH_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker reconnects to a lost broker for as long as it takes (Celery's default gives up,
# and exits, after 100 tries). Tasks running when the connection drops keep running: their
# provider call is paid for; an ack that cannot reach the broker any more is logged, not
# fatal (genpipe_site.broker), and a redelivered copy meets the task's
# status guard.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Deployments (or tests) sharing a broker keep apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connections before and after every task unless
# this is set: it closes them every this many tasks instead, and genpipe_site.celery closes
# a broken or too old one around each task, as Django does around requests.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Django's LOGGING stays in charge of the worker's output (JSON in production).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Task events for Flower and `celery events` (README "Flower"), opt-in: a worker sends them
# once Flower (or `celery control enable_events`) asks it to, or always with `1` (as
# `celery worker -E`). Three broker publishes per task, sent whether anyone listens or not,
# were about 2 ms of worker CPU per generation (bench: post_to_completed_c1). task-sent is
# opt-in too: one more broker publish on every create (bench/observability_bench.py).
CELERY_WORKER_SEND_TASK_EVENTS = env_bool("CELERY_WORKER_SEND_TASK_EVENTS", False)
CELERY_TASK_SEND_SENT_EVENT = env_bool("CELERY_TASK_SEND_SENT_EVENT", False)
# `celery -A genpipe_site beat` publishes these; a run that has not started within its
# period is dropped, so a worker outage does not leave a queue of sweeps behind.
CELERY_BEAT_SCHEDULE = {
    "sweep-generations": {
        "task": "generations.sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "purge-idempotency-keys": {
        "task": "generations.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    "reconcile-budgets": {
        "task": "budgets.reconcile",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "sweep-webhook-deliveries": {
        "task": "webhooks.sweep",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}
# Overrides of telemetry.health.DEFAULTS (min_samples, degraded/down success rates and
# consecutive failures, latency_objective_ms), e.g. {"down_consecutive_failures": 10}.
TELEMETRY_HEALTH: dict[str, float] = {}
# The dev panel's dashboards refresh themselves every this many seconds (0: off; a page's
# ?refresh= and the choice made in the page override it; devpanel.views.refresh).
GENPIPE_PANEL_REFRESH_S = env_int("GENPIPE_PANEL_REFRESH_S", 30)
# Longest countdown a task is re-scheduled with: scheduled_at waits are chained below the
# visibility timeout so a delayed message is never redelivered early.
GENERATION_MAX_COUNTDOWN_S = 300
# Features above the domain plug into the create flow and the status changes by dotted path
# (generations.hooks): a guard may refuse a create, listeners hear of changes and reuses.
GENPIPE_CREATE_GUARDS: list[str] = ["budgets.services.budget_guard"]
GENPIPE_TRANSITION_LISTENERS: list[str] = [
    "budgets.services.budget_transition_listener",
    "webhooks.services.deliveries.event_fan_out",
    "observability.listeners.metrics_on_transition",
    "streams.wakeup.transition_wakeup",
]
# observability (docs/metrics.md): the cache lookups and provider calls counted in /metrics.
GENPIPE_CACHE_LOOKUP_LISTENERS: list[str] = ["observability.listeners.metrics_on_cache_lookup"]
GENPIPE_ATTEMPT_LISTENERS: list[str] = ["observability.listeners.metrics_on_attempt"]
# experiments: a cache or dedup hit is an exposure of the prompt version that made it.
GENPIPE_REUSE_LISTENERS: list[str] = [
    "experiments.experiment.exposure_on_reuse",
    "budgets.services.budget_reuse_listener",
]
# Budget alerts are heard inside the transaction that records them (budgets.hooks):
# webhooks turns each into budget.threshold_reached / budget.forecast_exceeded deliveries.
GENPIPE_BUDGET_ALERT_LISTENERS: list[str] = ["webhooks.services.deliveries.budget_alert_fan_out"]
# Read-only inlines on the generation detail page, from apps above generations.
GENPIPE_GENERATION_ADMIN_INLINES: list[str] = ["experiments.admin.FeedbackInline"]
# Extra figures merged into each provider's telemetry report: {key: callable(provider)}.
TELEMETRY_PROVIDER_EXTRAS: dict[str, str] = {"feedback": "experiments.selectors.provider_feedback"}
# Parts of the demo data that apps above generations add (experiments: players' feedback).
GENPIPE_DEMO_EXTENSIONS: list[str] = ["experiments.demo.demo_feedback_ensure"]
# Budgets (budgets.store): "redis" or "database"; empty picks redis when REDIS_URL is set.
GENPIPE_BUDGET_STORE = os.environ.get("GENPIPE_BUDGET_STORE", "")
# Reuse savings are added up per process and written at most this often (budgets.savings).
GENPIPE_REUSE_SAVING_FLUSH_S = float(os.environ.get("GENPIPE_REUSE_SAVING_FLUSH_S", "1.0"))
# Output tokens a text operation is estimated at unless style.<provider>.max_tokens says.
GENPIPE_BUDGET_TEXT_OUTPUT_TOKENS = int(os.environ.get("GENPIPE_BUDGET_TEXT_OUTPUT_TOKENS", "512"))
# Budget alert emails: the console backend unless EMAIL_BACKEND names another (SMTP etc.).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# The folder of django.core.mail.backends.filebased.EmailBackend (one file per send).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "").lower() in {"1", "true", "yes"}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "genpipe@localhost")

# --- Event streams (docs/events.md) ---------------------------------------------------------
# Without Redis, each web process reads the event table this often while a stream is open;
# with Redis, wake-ups come by pub/sub and this slower poll only covers a lost one.
GENPIPE_STREAM_POLL_S = env_float("GENPIPE_STREAM_POLL_S", 0.5)
GENPIPE_STREAM_SAFETY_POLL_S = env_float("GENPIPE_STREAM_SAFETY_POLL_S", 5.0)
GENPIPE_STREAM_HEARTBEAT_S = env_float("GENPIPE_STREAM_HEARTBEAT_S", 15.0)
# The feed's reader (one per web process) keeps its connection while reads follow each
# other within this many seconds, and closes it after (streams.db.ReaderThread).
GENPIPE_STREAM_DB_KEEP_S = env_float("GENPIPE_STREAM_DB_KEEP_S", 2.0)
# The reader (and its Redis subscription) stays this long after the last stream closed, so
# back-to-back Prefer: wait requests do not restart it each time (streams.feed).
GENPIPE_STREAM_LINGER_S = env_float("GENPIPE_STREAM_LINGER_S", 10.0)
GENPIPE_STREAM_CHANNEL = os.environ.get("GENPIPE_STREAM_CHANNEL", "genpipe:events")
# Live events a client may be behind before its stream is closed (it resumes by id).
GENPIPE_STREAM_QUEUE_MAX = env_int("GENPIPE_STREAM_QUEUE_MAX", 1000)
# How long a reader keeps asking for an id it skipped (a transaction not committed yet).
GENPIPE_STREAM_GAP_S = env_float("GENPIPE_STREAM_GAP_S", 10.0)
GENPIPE_WS_MAX_SUBSCRIPTIONS = env_int("GENPIPE_WS_MAX_SUBSCRIPTIONS", 100)
GENPIPE_PREFER_WAIT_MAX_S = env_int("GENPIPE_PREFER_WAIT_MAX_S", 60)

# --- Webhooks (README "Webhooks") ----------------------------------------------------------
# Private, loopback and link-local targets are refused unless this is on (tests, local dev).
GENPIPE_WEBHOOK_ALLOW_PRIVATE = env_bool("GENPIPE_WEBHOOK_ALLOW_PRIVATE", False)
# Seconds to wait after the 1st, 2nd, ... failed attempt; empty: the Standard Webhooks
# specification's schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h).
GENPIPE_WEBHOOK_RETRY_SCHEDULE = os.environ.get("GENPIPE_WEBHOOK_RETRY_SCHEDULE", "")
# Failed attempts in a row (any delivery) after which an endpoint is disabled.
GENPIPE_WEBHOOK_DISABLE_AFTER = int(os.environ.get("GENPIPE_WEBHOOK_DISABLE_AFTER", "100"))
GENPIPE_WEBHOOK_ROTATION_GRACE_S = env_float("GENPIPE_WEBHOOK_ROTATION_GRACE_S", 24 * 3600.0)
GENPIPE_WEBHOOK_TIMEOUT_S = env_float("GENPIPE_WEBHOOK_TIMEOUT_S", 15.0)
# Retries further away than this are not published with a countdown (it would outlive the
# broker's visibility timeout): the sweeper (beat, 30 s) sends them when due.
GENPIPE_WEBHOOK_MAX_COUNTDOWN_S = 300

# --- Metrics (docs/metrics.md) -------------------------------------------------------------
# GET /metrics answers staff users and `Authorization: Bearer <GENPIPE_METRICS_TOKEN>`.
# PROMETHEUS_MULTIPROC_DIR (read by prometheus-client itself) makes gunicorn's and the
# worker's processes share their values; OTEL_EXPORTER_OTLP_ENDPOINT turns traces on.
GENPIPE_METRICS_TOKEN = os.environ.get("GENPIPE_METRICS_TOKEN", "")

# --- Auth, API ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Seconds a process keeps token -> user and the user's workspaces (core.auth; 0: off).
GENPIPE_AUTH_CACHE_S = float(os.environ.get("GENPIPE_AUTH_CACHE_S", "2"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.CachedTokenAuthentication",  # token -> user kept GENPIPE_AUTH_CACHE_S
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["generations.parsers.BoundedJSONParser"],
    # DRF's, with orjson for documents that vouch for plain JSON (list pages).
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.UserRateThrottle",
        "core.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("GENPIPE_THROTTLE_USER", "6000/min"),
        "generation_create": os.environ.get("GENPIPE_THROTTLE_CREATE", "1200/min"),
    },
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if env_bool("GENPIPE_BROWSABLE_API", default=DEBUG):
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "core.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": "genpipe API",
    "DESCRIPTION": "Structured content generation for games: create, dedup, cache, track.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ContentRatingEnum": "generations.models.ContentRating"},
    # The docs page loads Swagger UI from our own static files, never from a CDN, and
    # does not send the schema to swagger.io's online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents the errors any request may get (core.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The SSE endpoints are async Django views: documented by a hook (streams.openapi).
        "streams.openapi.add_stream_paths",
        "core.schema.global_error_responses",
    ],
}

# Request bodies are small JSON documents; anything bigger is a 413 (core.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GENPIPE_MAX_BODY_BYTES", 256 * 1024)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

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
