"""Celery: the broker, the timeout chain, acknowledgements, beat's schedule."""

from __future__ import annotations

import os

from .environment import VAR_DIR, env_bool, env_float, env_int
from .storage import REDIS_URL

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
