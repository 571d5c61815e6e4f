"""The genpipe Celery application.

Delivery is at-least-once: tasks are acknowledged after they run and re-queued when the
worker process dies, so every task starts with a status guard that makes redelivery
harmless. All settings live in ``genpipe_site.settings`` under the ``CELERY_`` prefix;
without a broker server the embedded default uses kombu's filesystem transport.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")

app = Celery("genpipe")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
