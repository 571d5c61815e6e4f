"""Invalidation means regenerate: after a slot delete or a flush the next identical request
creates a new generation, while the old one stays readable by id (issue 10, item 5).

The admin paths (detail button, changelist action, cache monitor) are exercised with the
rest of the dev panel's forms in ``tests/admin/test_forms.py``.
"""

from __future__ import annotations

import io
import threading
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caching.keys import slot_storage_key
from caching.services import cache_slot_get
from generations.models import Generation, Status, Workspace
from generations.services.creation import generation_create
from generations.services.invalidation import (
    MARK_BATCH,
    generation_slot_invalidate,
    generation_slots_flush,
)
from generations.tasks import process_generation
from tests.builders import create_body

URL = "/api/v1/generations"
SLOTS = f"{URL}/cache/slots"
BODY = create_body(
    config={"strategy": "per_playthrough"},
    from_scene={"id": "harbour"},
    to_scene={"id": "inn"},
    player_context={"playthrough_id": "pt-1"},
)


def _post(api: Any, capture: Any) -> Any:
    with capture(execute=True):  # the task runs eagerly once the create commits
        return api.post(URL, BODY, format="json")


@pytest.fixture
def served(backend: str, api: Any, django_capture_on_commit_callbacks: Any) -> Generation:
    """A completed generation that an identical request is answered with."""
    first = _post(api, django_capture_on_commit_callbacks)
    assert first.status_code == 201
    generation = Generation.objects.get(id=first.json()["id"])
    assert generation.status == Status.COMPLETED
    repeat = _post(api, django_capture_on_commit_callbacks)
    assert repeat.status_code == 200
    assert repeat.json()["id"] == str(generation.id) and repeat.json()["reused"] == "dedup"
    return generation


def assert_regenerates(api: Any, old: Generation, capture: Any) -> None:
    """The next identical request is a new generation; the old one is still itself."""
    again = _post(api, capture)
    assert again.status_code == 201, again.json()
    new_id = again.json()["id"]
    assert new_id != str(old.id) and again.json()["reused"] is None
    read = api.get(f"{URL}/{old.id}")
    assert read.status_code == 200
    assert read.json()["status"] == "completed" and read.json()["result"]
    old.refresh_from_db()
    assert old.status == Status.COMPLETED and old.invalidated_at is not None
    assert cache_slot_get(workspace_id=old.workspace_id, key=old.cache_key) == new_id
    after = _post(api, capture)  # and the new generation answers from now on
    assert after.status_code == 200 and after.json()["id"] == new_id


def test_slot_delete_api_makes_the_next_identical_request_generate_again(
    served, api, staff_api, django_capture_on_commit_callbacks
):
    query = f"workspace={served.workspace_id}&key={served.cache_key}"
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.status_code == 200
    assert response.json()["deleted"] is True and response.json()["invalidated"] == 1
    assert_regenerates(api, served, django_capture_on_commit_callbacks)


def test_slot_delete_api_invalidates_even_when_the_slot_is_already_gone(
    served, api, staff_api, django_capture_on_commit_callbacks
):
    """A slot lost with a cache restart: deduplication must stop answering all the same."""
    cache.delete(slot_storage_key(served.workspace_id, served.cache_key))
    query = f"workspace={served.workspace_id}&key={served.cache_key}"
    response = staff_api.delete(SLOTS, QUERY_STRING=query)
    assert response.json()["deleted"] is False and response.json()["invalidated"] == 1
    assert_regenerates(api, served, django_capture_on_commit_callbacks)


@pytest.mark.parametrize(
    "args",
    [
        ["--all"],
        ["--strategy", "per_playthrough"],
        ["--workspace", "studio"],
        ["--scene", "harbour"],
        ["--key", "{key}"],
    ],
)
def test_flush_command_makes_the_next_identical_request_generate_again(
    served, api, django_capture_on_commit_callbacks, args
):
    out = io.StringIO()
    args = [a.format(key=served.cache_key) for a in args]
    call_command("flush_generation_cache", *args, stdout=out, stderr=io.StringIO())
    assert "Deleted 1 generation cache slot;" in out.getvalue()
    assert "Invalidated 1 generation(s)" in out.getvalue()
    assert_regenerates(api, served, django_capture_on_commit_callbacks)


def test_flush_dry_run_invalidates_nothing(served, api, django_capture_on_commit_callbacks):
    call_command("flush_generation_cache", "--all", "--dry-run", stdout=io.StringIO())
    served.refresh_from_db()
    assert served.invalidated_at is None
    assert _post(api, django_capture_on_commit_callbacks).json()["id"] == str(served.id)


def test_a_generation_running_when_invalidated_still_completes_for_its_requester(
    backend, api, staff_api, no_dispatch
):
    created = api.post(URL, BODY, format="json")
    generation = Generation.objects.get(id=created.json()["id"])
    outcome = generation_slot_invalidate(
        workspace_id=generation.workspace_id, key=generation.cache_key
    )
    assert (outcome.deleted, outcome.invalidated) == (1, 1)
    process_generation.delay(str(generation.id))  # the worker picks it up afterwards
    read = api.get(f"{URL}/{generation.id}").json()
    assert read["status"] == "completed" and read["result"]
    again = api.post(URL, BODY, format="json")
    assert again.status_code == 201 and again.json()["id"] != str(generation.id)


def _rows(workspace: Workspace, sandbox: Any, keys: list[str]) -> list[Generation]:
    return Generation.objects.bulk_create(
        Generation(
            workspace=workspace,
            provider=sandbox,
            operation_type="text_to_image",
            purpose="adaptive",
            strategy="once",
            reproducible_hash=uuid.uuid4().hex,
            cache_key=key,
            status=Status.COMPLETED,
        )
        for key in keys
    )


def _seed_slots(workspace: Workspace, rows: list[Generation]) -> None:
    cache.set_many(
        {slot_storage_key(workspace.id, g.cache_key): str(g.id) for g in rows}, timeout=3600
    )


def test_a_flush_marks_exactly_the_generations_whose_slots_it_deleted(backend, sandbox):
    studio = Workspace.objects.create(slug="alpha", name="Alpha")
    other = Workspace.objects.create(slug="beta", name="Beta")
    once = "generation:text_to_image|adaptive|s1|none|once|v1"
    playthrough = "generation:text_to_image|adaptive|s1|none|per_playthrough|pt:p|v1"
    flushed = _rows(studio, sandbox, [playthrough, playthrough])  # two under one slot
    kept = _rows(studio, sandbox, [once]) + _rows(other, sandbox, [playthrough])
    failed = _rows(studio, sandbox, [playthrough])
    Generation.objects.filter(id=failed[0].id).update(status=Status.FAILED)
    _seed_slots(studio, [flushed[0], kept[0]])
    _seed_slots(other, kept[1:])

    result = generation_slots_flush(strategy="per_playthrough", workspace_id=studio.id)

    assert (result.deleted, result.invalidated) == (1, 2)
    marked = set(Generation.objects.filter(invalidated_at__isnull=False).values_list("id"))
    assert marked == {(g.id,) for g in flushed}
    assert cache_slot_get(workspace_id=other.id, key=playthrough) == str(kept[1].id)
    assert cache_slot_get(workspace_id=studio.id, key=once) == str(kept[0].id)


def test_a_flush_of_many_slots_marks_them_in_batches(backend, sandbox):
    workspace = Workspace.objects.create(slug="many", name="Many")
    count = 1_250
    keys = [f"generation:text_to_image|adaptive|s{i}|none|once|v1" for i in range(count)]
    rows = _rows(workspace, sandbox, keys)
    _seed_slots(workspace, rows)
    with CaptureQueriesContext(connection) as queries:
        result = generation_slots_flush(workspace_id=workspace.id)
    assert (result.matched, result.deleted, result.invalidated) == (count, count, count)
    assert not Generation.objects.filter(invalidated_at__isnull=True).exists()
    updates = [q for q in queries if q["sql"].startswith("UPDATE") and "generation" in q["sql"]]
    # 500 slots per delete batch, at most MARK_BATCH pairs per UPDATE: a handful of statements
    assert 3 <= len(updates) <= -(-count // MARK_BATCH) + 3


def test_invalidating_many_slots_at_once_batches_too(backend, sandbox):
    from generations.services.invalidation import generation_slots_invalidate

    workspace = Workspace.objects.create(slug="bulk", name="Bulk")
    rows = _rows(
        workspace, sandbox, [f"generation:dialogue|adaptive|s{i}|none|once|v1" for i in range(900)]
    )
    _seed_slots(workspace, rows[:600])
    outcome = generation_slots_invalidate(
        slots=[(workspace.id, g.cache_key) for g in rows] * 2  # duplicates count once
    )
    assert (outcome.deleted, outcome.invalidated) == (600, 900)
    assert generation_slots_invalidate(slots=[(workspace.id, rows[0].cache_key)]).invalidated == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_racing_an_invalidation_coalesce_onto_one_new_generation(
    workspace, sandbox, no_dispatch
):
    """Identical requests arriving while a slot is invalidated get the old generation (they
    came first) or one new generation (they came after): never two new ones, never none."""
    from generations.serializers import GenerationCreateSerializer

    def data() -> dict[str, Any]:
        serializer = GenerationCreateSerializer(data=BODY)
        assert serializer.is_valid(), serializer.errors
        return dict(serializer.validated_data)

    old = generation_create(workspace=workspace, user=None, data=data()).generation
    answers: list[str] = []
    errors: list[BaseException] = []
    answered = threading.Event()

    def request() -> None:
        try:
            for _ in range(12):
                outcome = generation_create(workspace=workspace, user=None, data=data())
                answers.append(str(outcome.generation.id))
                answered.set()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert answered.wait(timeout=30)  # invalidate while the requests are flowing
    generation_slot_invalidate(workspace_id=workspace.id, key=old.cache_key, now=timezone.now())
    for thread in threads:
        thread.join()
    assert not errors
    final = generation_create(workspace=workspace, user=None, data=data()).generation
    live = Generation.objects.reusable().filter(workspace=workspace)
    assert list(live.values_list("id", flat=True)) == [final.id]
    assert final.id != old.id
    assert set(answers) <= {str(old.id), str(final.id)}
    assert Generation.objects.filter(workspace=workspace).count() == 2


def test_flush_regenerates_on_the_embedded_default(tmp_path):
    """SQLite and the database cache, in a subprocess as an operator runs it."""
    from tests.embedded import embedded_site

    site = embedded_site(tmp_path)
    create = (
        "from generations.models import Workspace\n"
        "from generations.serializers import GenerationCreateSerializer\n"
        "from generations.services.creation import generation_create\n"
        "ws, _ = Workspace.objects.get_or_create(slug='ops', defaults={'name': 'Ops'})\n"
        f"s = GenerationCreateSerializer(data={BODY!r}); assert s.is_valid(), s.errors\n"
        "o = generation_create(workspace=ws, user=None, data=dict(s.validated_data))\n"
        "print(o.generation.id, o.reused)\n"
    )

    def run(code: str) -> list[str]:
        return site.shell(code).strip().splitlines()[-1].split()  # the printed line

    first_id, reused = run(create)
    assert reused == "None"
    assert run(create) == [first_id, "dedup"]
    flushed = site.manage("flush_generation_cache", "--workspace", "ops", "--scene", "inn")
    assert flushed.returncode == 0, flushed.stderr
    assert "Deleted 1 generation cache slot;" in flushed.stdout
    assert "Invalidated 1 generation(s)" in flushed.stdout
    second_id, reused = run(create)
    assert second_id != first_id and reused == "None"
    state = run(
        "from generations.models import Generation\n"
        f"g = Generation.objects.get(id='{first_id}')\n"
        "print(g.status, g.invalidated_at is not None)\n"
    )
    assert state == ["pending", "True"]
