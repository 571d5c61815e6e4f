"""The genpipe Celery application.

Delivery is at-least-once: tasks are acknowledged after they run and re-queued when the
worker process dies, so every task starts with a status guard that makes redelivery
harmless. All settings live in ``genpipe_site.settings`` under the ``CELERY_`` prefix;
without a broker server the embedded default uses kombu's filesystem transport. The
worker replaces the publishers' short broker timeouts with its own when it starts, and
keeps its database connection from task to task (``_database_connections``).
"""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")

app = Celery("genpipe")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Exchanges the web processes and the worker bind on the filesystem broker at start.
FILESYSTEM_EXCHANGES = ("celery", "celery.pidbox")


def filesystem_exchanges_prepare(control_folder: str | os.PathLike[str]) -> None:
    """Create the filesystem broker's exchange tables (empty, ``[]``) whole, before any
    process binds to them. kombu creates a missing table by opening it for writing and
    then locking it: a process that opens it in between reads an empty file and its
    worker dies at start (``JSONDecodeError``, seen when the web server and the worker
    start together). A table that exists is left alone."""
    folder = Path(control_folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILESYSTEM_EXCHANGES:
        table = folder / f"{name}.exchange"
        if table.exists():
            continue
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            os.write(fd, b"[]")
            os.close(fd)
            os.link(temporary, table)  # atomic, and never over a table another process made
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)


@app.on_after_configure.connect
def _filesystem_broker_prepare(**kwargs: Any) -> None:
    """Once the configuration is read (in every process, before its first publish or
    consumer): the filesystem broker's exchange tables exist whole."""
    from django.conf import settings

    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        filesystem_exchanges_prepare(
            str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"])
        )


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


@signals.worker_process_init.connect  # a prefork child, forked from the loaded worker
@signals.worker_ready.connect  # the worker itself (it runs the tasks of a threads pool)
def _collector_freeze(**kwargs: Any) -> None:
    """Move everything the loaded worker holds out of the garbage collector's reach
    (``gc.freeze``): a full collection then walks what tasks made since, not all of
    Django and Celery (measured: about a third of its time per collection)."""
    gc.freeze()


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
