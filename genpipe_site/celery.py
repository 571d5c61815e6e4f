"""The genpipe Celery application.

Delivery is at-least-once: tasks are acknowledged after they run and re-queued when the
worker process dies, so every task starts with a status guard that makes redelivery
harmless. All settings live in ``genpipe_site.settings`` under the ``CELERY_`` prefix;
without a broker server the embedded default uses kombu's filesystem transport. The
worker replaces the publishers' short broker timeouts with its own when it starts.
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
