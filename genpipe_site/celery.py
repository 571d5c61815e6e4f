"""The genpipe Celery application.

Delivery is at-least-once: tasks are acknowledged after they run and re-queued when the
worker process dies, so every task starts with a status guard that makes redelivery
harmless. All settings live in ``genpipe_site.settings`` under the ``CELERY_`` prefix;
without a broker server the embedded default uses kombu's filesystem transport. The
worker replaces the publishers' short broker timeouts with its own when it starts, and
keeps its database connection from task to task (``_database_connections``).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")

app = Celery("genpipe")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def _worker_broker_options(conf: Any, **kwargs: Any) -> None:
    """The worker's broker connection: longer socket timeouts than the publishers' (web,
    beat, commands), which give up within ``BROKER_PUBLISH_TIMEOUT``. A worker losing its
    connection over a slow reply costs a reconnect and a restore of unacked messages; a
    create that waits costs the client. Sent before the worker opens any connection."""
    from django.conf import settings

    options = getattr(settings, "GENPIPE_WORKER_BROKER_TRANSPORT_OPTIONS", None)
    if options is not None:
        conf.broker_transport_options = dict(options)
    conf.broker_connection_timeout = settings.GENPIPE_WORKER_BROKER_CONNECTION_TIMEOUT


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections(sender: Any = None, **kwargs: Any) -> None:
    """Around every task, what Django does around every request: close a connection that
    failed (and fails its health check) or outlived ``CONN_MAX_AGE``, keep the others.

    Celery's Django fixup would close every connection before and after each task, so
    each task reconnected to PostgreSQL (about 1 ms of worker CPU and a new server
    backend per task); ``CELERY_DB_REUSE_MAX`` makes it close them only every that many
    tasks, and this keeps a database restart from failing more than the task it hit.
    Eager tasks (tests, ``CELERY_TASK_ALWAYS_EAGER``) run inside their caller's
    transaction and are left alone, as the fixup leaves them.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
