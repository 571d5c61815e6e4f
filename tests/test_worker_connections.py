"""The worker keeps its database connection from task to task and drops a broken one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection, connections

from genpipe_site.celery import _database_connections, app

TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))


def _fresh_connection() -> None:
    """A connection opened now: an older one (an earlier test's) may be past
    ``CONN_MAX_AGE``, and the task and request signals would rightly replace it."""
    connection.close()
    connection.ensure_connection()


def test_celery_closes_the_connections_only_every_many_tasks(settings):
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


@pytest.mark.postgres  # Django never closes SQLite's in-memory test database
@pytest.mark.django_db(transaction=True)
def test_a_working_connection_outlives_a_task_and_a_broken_one_does_not():
    _fresh_connection()
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


def _pending_generation(workspace, sandbox):
    from generations.models import Generation

    return Generation.objects.create(
        workspace=workspace, provider=sandbox, operation_type="dialogue"
    )


@pytest.fixture
def health_checks(monkeypatch):
    """The ``SELECT 1`` health checks the connection runs (``is_usable``), counted."""
    calls: list[bool] = []
    real = type(connections["default"]).is_usable

    def is_usable(self):  # type: ignore[no-untyped-def]
        calls.append(usable := real(self))
        return usable

    monkeypatch.setattr(type(connections["default"]), "is_usable", is_usable)
    return calls


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_workers_first_read_stands_in_for_the_health_check(health_checks, workspace, sandbox):
    from generations.services.lookups import generation_for_worker

    generation = _pending_generation(workspace, sandbox)
    _fresh_connection()
    assert connection.health_check_enabled
    raw = connection.connection
    _database_connections(sender=TASK)  # a task starts: the connection is to be checked
    assert generation_for_worker(generation_id=str(generation.id)) == generation
    assert health_checks == [] and connection.connection is raw
    raw.close()  # the server went away under it between two tasks
    _database_connections(sender=TASK)
    assert generation_for_worker(generation_id=str(generation.id)) == generation
    assert health_checks == [False]  # checked only once the read failed, then reconnected
    assert connection.connection is not raw


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failed_worker_read_on_a_live_connection_is_not_repeated(
    monkeypatch, health_checks, workspace, sandbox
):
    from django.db import OperationalError

    from generations.services import lookups

    generation = _pending_generation(workspace, sandbox)
    _fresh_connection()
    _database_connections(sender=TASK)
    runs: list[str] = []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append("run")
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(lookups, "_run_once", failing)
    with pytest.raises(OperationalError):
        lookups.generation_for_worker(generation_id=str(generation.id))
    assert runs == ["run"] and health_checks == [True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_requests_first_lookup_stands_in_for_the_health_check(
    health_checks, user, workspace, sandbox
):
    from django.core.signals import request_started

    from generations.selectors import generation_get
    from generations.services.lookups import reusable_by_hash

    generation = _pending_generation(workspace, sandbox)
    generation.reproducible_hash = "a" * 64
    generation.save(update_fields=["reproducible_hash"])
    _fresh_connection()
    raw = connection.connection
    request_started.send(sender=None)  # a request starts: its connection is to be checked
    found = reusable_by_hash(workspace_id=workspace.id, digest=generation.reproducible_hash)
    assert found == generation
    assert health_checks == [] and connection.connection is raw
    raw.close()  # the database restarted between two requests
    request_started.send(sender=None)
    assert generation_get(user=user, generation_id=generation.id) == generation
    assert health_checks == [False]  # checked only once the read failed, then reconnected
    assert connection.connection is not raw
    with connection.cursor() as cursor:  # the rest of the request: no check either
        cursor.execute("SELECT 1")
    assert health_checks == [False]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_list_pages_read_stands_in_for_the_health_check(health_checks, user, workspace, sandbox):
    from django.core.signals import request_started

    from generations.selectors import generation_rows

    generation = _pending_generation(workspace, sandbox)
    rows = generation_rows(user=user, conditions=[], fields=("id", "status"))
    _fresh_connection()
    raw = connection.connection
    request_started.send(sender=None)  # a request starts: its connection is to be checked
    assert [row.id for row in rows[0:50]] == [str(generation.id)]
    assert health_checks == [] and connection.connection is raw
    raw.close()  # the database restarted between two requests
    request_started.send(sender=None)
    assert [row.status for row in rows[0:50]] == ["pending"]
    assert health_checks == [False]  # checked only once the read failed, then reconnected
    assert connection.connection is not raw


def _validated(body: dict) -> dict:
    from generations.serializers import GenerationCreateSerializer

    serializer = GenerationCreateSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    return dict(serializer.validated_data)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cold_creates_locked_look_stands_in_for_the_health_check(
    health_checks, workspace, sandbox, no_dispatch
):
    from django.core.signals import request_started

    from generations.models import Generation
    from generations.services.creation import generation_create
    from tests.builders import create_body

    def create(prompt: str) -> str | None:
        body = create_body(config={"prompt": prompt})
        data = _validated(body)
        return generation_create(workspace=workspace, user=None, data=data, new_body=True).reused

    assert create("a lighthouse at dusk") is None  # the process's caches (provider) warm up
    _fresh_connection()
    raw = connection.connection
    request_started.send(sender=None)  # a request starts: its connection is to be checked
    assert create("a harbour at dawn") is None
    assert health_checks == [] and connection.connection is raw
    raw.close()  # the database restarted between two requests
    request_started.send(sender=None)
    assert create("a mill in the rain") is None
    assert health_checks == [False]  # checked only once the look failed, then reconnected
    assert connection.connection is not raw
    assert Generation.objects.count() == 3  # one row each, none lost, none doubled


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_create_that_loses_its_connection_after_the_look_is_not_repeated(
    monkeypatch, health_checks, workspace, sandbox, no_dispatch
):
    from django.core.signals import request_started
    from django.db import OperationalError

    from generations.models import Generation
    from generations.services import creation
    from tests.builders import create_body

    inserts: list[str] = []

    def insert_on_a_dead_connection(request, generation_id):  # type: ignore[no-untyped-def]
        inserts.append("insert")
        connection.connection.close()  # gone between the look and the insert
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    data = _validated(create_body())
    creation.generation_create(workspace=workspace, user=None, data=data)  # caches warm up
    monkeypatch.setattr(creation, "_insert", insert_on_a_dead_connection)
    request_started.send(sender=None)
    data = _validated(create_body(config={"prompt": "a harbour at dawn"}))
    with pytest.raises(OperationalError):
        creation.generation_create(workspace=workspace, user=None, data=data, new_body=True)
    assert inserts == ["insert"]  # a guard may have reserved budget: never run twice
    assert health_checks == []  # past the look: raised at once, as it would have
    assert Generation.objects.count() == 1


@pytest.mark.parametrize("signal", ["worker_process_init", "worker_ready"])
def test_a_started_worker_freezes_what_it_holds_out_of_the_collectors_reach(signal):
    import gc

    from celery import signals

    gc.unfreeze()
    try:
        getattr(signals, signal).send(sender=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
