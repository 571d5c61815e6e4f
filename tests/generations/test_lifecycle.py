"""The state machine: one function, conditional UPDATE, audit event, no overwrite."""

from __future__ import annotations

import pytest

from generations.errors import InvalidTransition
from generations.models import Generation, GenerationEvent, Status
from generations.services.lifecycle import ALLOWED, generation_transition
from tests.builders import create_body


@pytest.fixture
def generation(api) -> Generation:
    response = api.post("/api/v1/generations", create_body(), format="json")
    return Generation.objects.get(id=response.json()["id"])


def test_transition_table_is_the_spec():
    assert {k: sorted(v) for k, v in ALLOWED.items()} == {
        "pending": ["cancelled", "processing"],
        "processing": ["cancelled", "completed", "failed"],
    }


def test_happy_path_sets_timestamps_and_events(generation):
    generation_transition(generation_id=generation.id, to_status=Status.PROCESSING, actor="w")
    generation_transition(
        generation_id=generation.id,
        to_status=Status.COMPLETED,
        actor="w",
        fields={"result": {"text": "hi"}},
    )
    generation.refresh_from_db()
    assert generation.status == "completed"
    assert generation.started_at is not None
    assert generation.completed_at >= generation.started_at
    assert generation.result == {"text": "hi"}
    events = list(
        GenerationEvent.objects.filter(generation=generation).values_list(
            "from_status", "to_status", "actor"
        )
    )
    assert events[1:] == [("pending", "processing", "w"), ("processing", "completed", "w")]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], Status.COMPLETED),
        ([], Status.FAILED),
        ([Status.PROCESSING, Status.COMPLETED], Status.CANCELLED),
        ([Status.PROCESSING, Status.FAILED], Status.PROCESSING),
        ([Status.CANCELLED], Status.PROCESSING),
        ([Status.PROCESSING], Status.PENDING),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(generation, path, illegal):
    for step in path:
        generation_transition(generation_id=generation.id, to_status=step)
    before = GenerationEvent.objects.filter(generation=generation).count()
    with pytest.raises(InvalidTransition):
        generation_transition(generation_id=generation.id, to_status=illegal)
    generation.refresh_from_db()
    assert generation.status == (path[-1] if path else "pending")
    assert GenerationEvent.objects.filter(generation=generation).count() == before


def test_claim_only_from_pending(generation):
    generation_transition(generation_id=generation.id, to_status=Status.CANCELLED)
    with pytest.raises(InvalidTransition):
        generation_transition(
            generation_id=generation.id,
            to_status=Status.PROCESSING,
            from_statuses=frozenset({Status.PENDING}),
        )
