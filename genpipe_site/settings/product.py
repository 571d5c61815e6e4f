"""genpipe's own settings: extension points, budgets, mail, streams, webhooks, metrics."""

from __future__ import annotations

import os

from .environment import VAR_DIR, env_bool, env_float, env_int

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
# Cache and validation statistics are added up per process and written within this many
# seconds (telemetry.buckets); 0 writes each count at once.
GENPIPE_STATS_FLUSH_S = float(os.environ.get("GENPIPE_STATS_FLUSH_S", "1.0"))
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
