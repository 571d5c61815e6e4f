"""The worker keeps its database connection from task to task and drops a broken one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection

from genpipe_site.celery import _database_connections, app

TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))


def test_celery_closes_the_connections_only_every_many_tasks(settings):
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


@pytest.mark.postgres  # Django never closes SQLite's in-memory test database
@pytest.mark.django_db(transaction=True)
def test_a_working_connection_outlives_a_task_and_a_broken_one_does_not():
    connection.ensure_connection()
    raw = connection.connection
    _database_connections(sender=TASK)  # task_postrun, then the next task's prerun
    _database_connections(sender=TASK)
    assert connection.connection is raw
    raw.close()  # the server went away under it
    connection.errors_occurred = True  # as the query that met it would have marked it
    _database_connections(sender=TASK)
    assert connection.connection is None
    with connection.cursor() as cursor:  # the next task reconnects
        cursor.execute("SELECT 1")
    assert connection.connection is not raw


def test_an_eager_task_leaves_its_callers_connection_alone(db):
    connection.ensure_connection()
    raw = connection.connection
    _database_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert connection.connection is raw
