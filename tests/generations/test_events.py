"""The event feed's reads: rows after an id, narrowed by generation, workspace and type."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations.events import _id_runs, events_after, events_latest_id, is_terminal_event
from generations.models import GenerationEvent, Status
from generations.services.lifecycle import generation_transition
from tests.builders import create_body

pytestmark = pytest.mark.django_db


def _create(api, prompt: str) -> str:
    response = api.post(
        "/api/v1/generations", create_body(config={"prompt": prompt}), format="json"
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_events_after_reads_in_id_order_and_narrows_by_generation_and_type(api, no_dispatch):
    first, second = _create(api, "one"), _create(api, "two")
    generation_transition(generation_id=first, to_status=Status.PROCESSING)
    generation_transition(generation_id=first, to_status=Status.COMPLETED)
    every = events_after(None)
    assert [e["event_id"] for e in every] == sorted(e["event_id"] for e in every)
    assert [(e["generation_id"], e["type"]) for e in every] == [
        (first, "generation.pending"),
        (second, "generation.pending"),
        (first, "generation.processing"),
        (first, "generation.completed"),
    ]
    assert [e["type"] for e in events_after(every[1]["event_id"], generation_id=first)] == [
        "generation.processing",
        "generation.completed",
    ]
    done = events_after(None, types={"generation.completed"})
    assert [e["generation_id"] for e in done] == [first]
    assert is_terminal_event(done[0]) and not is_terminal_event(every[0])
    assert events_after(None, limit=2) == every[:2]
    assert events_latest_id() == every[-1]["event_id"]


def test_events_after_scopes_to_workspaces_and_rereads_named_ids(api, other_api, no_dispatch):
    mine = _create(api, "mine")
    theirs_response = other_api.post("/api/v1/generations", create_body(), format="json")
    theirs = theirs_response.json()["id"]
    mine_row = GenerationEvent.objects.get(generation_id=mine)
    theirs_row = GenerationEvent.objects.get(generation_id=theirs)
    scoped = events_after(None, workspace_ids={mine_row.generation.workspace_id})
    assert [e["generation_id"] for e in scoped] == [mine]
    assert events_after(None, workspace_ids=set()) == []
    # An id at or below last_id is read again when named (a late-committing row).
    reread = events_after(theirs_row.id, also_ids=[mine_row.id])
    assert [e["event_id"] for e in reread] == [mine_row.id]


def test_id_runs_splits_consecutive_ids_from_lone_ones():
    assert _id_runs([10, 2, 3, 1, 7, 9, 3, 12]) == ([(1, 3), (9, 10)], [7, 12])
    assert _id_runs([]) == ([], [])


def test_a_long_hole_is_read_again_as_a_range_not_one_parameter_per_id(api, no_dispatch):
    ids = [GenerationEvent.objects.get(generation_id=_create(api, f"g{n}")).id for n in range(4)]
    # A hole of thousands of ids ending at the second row, the fourth row alone: the rows
    # in them come back, those outside (the third) do not, whatever last_id says.
    hole = set(range(ids[1] - 3000, ids[1] + 1)) | {ids[3]}
    with CaptureQueriesContext(connection) as queries:
        reread = events_after(ids[3], also_ids=hole)
    assert [e["event_id"] for e in reread] == [ids[0], ids[1], ids[3]]
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "BETWEEN" in sql and len(sql) < 3000, sql[:500]


def test_a_read_of_a_shape_already_read_compiles_no_sql_and_matches_the_queryset(
    api, no_dispatch, monkeypatch
):
    from django.db.models.sql.compiler import SQLCompiler

    from generations.events import event_object

    first, second = _create(api, "compiled one"), _create(api, "compiled two")
    generation_transition(generation_id=first, to_status=Status.PROCESSING)
    workspace = GenerationEvent.objects.get(generation_id=first, to_status="pending")
    workspace_id = workspace.generation.workspace_id
    events_after(None, generation_id=second, workspace_ids={workspace_id}, types={"x"})
    compiled: list[object] = []
    original = SQLCompiler.as_sql

    def counted(self: SQLCompiler, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    read = events_after(
        None, generation_id=first, workspace_ids={workspace_id}, types={"generation.processing"}
    )
    assert compiled == []  # the same shape as the read above: its SQL is reused
    expected = GenerationEvent.objects.filter(generation_id=first, to_status="processing")
    assert read == [event_object(row) for row in expected]
    assert read[0]["generation"]["id"] == first and read[0]["workspace_id"] == workspace_id
