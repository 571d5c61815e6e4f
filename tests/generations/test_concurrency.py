"""Races on a real PostgreSQL: identical creates coalesce, racing transitions end once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from generations.errors import InvalidTransition
from generations.models import Generation, GenerationEvent, Status
from generations.services.lifecycle import generation_transition
from tests.builders import create_body, transition_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/generations"


def race(workers: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action`` in ``workers`` threads released at the same instant."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = action(index)
        except Exception as exc:  # collected and asserted by the caller
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("builder", [create_body, transition_body])
def test_identical_concurrent_creates_make_one_generation(
    user, workspace, sandbox, builder, no_dispatch
):
    def post(_: int) -> tuple[int, str]:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(URL, builder(), format="json")
        return response.status_code, response.json()["id"]

    results = race(8, post)
    assert Generation.objects.count() == 1
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] * 7 + [201]
    assert len({gid for _, gid in results}) == 1


def test_cancel_racing_completion_ends_in_exactly_one_terminal_state(api, no_dispatch):
    generation_id = api.post(URL, create_body(), format="json").json()["id"]
    generation_transition(generation_id=generation_id, to_status=Status.PROCESSING)
    targets = [Status.COMPLETED, Status.CANCELLED] * 4

    def move(index: int) -> str:
        try:
            generation_transition(generation_id=generation_id, to_status=targets[index])
        except InvalidTransition:
            return "lost"
        return "won"

    outcomes = race(len(targets), move)
    assert outcomes.count("won") == 1
    final = Generation.objects.get(id=generation_id).status
    terminal_events = GenerationEvent.objects.filter(
        generation_id=generation_id, from_status=Status.PROCESSING
    )
    assert [e.to_status for e in terminal_events] == [final]


def test_concurrent_claims_let_one_worker_run(api, no_dispatch):
    from generations.models import ProviderAttempt
    from generations.services.processing import generation_process

    generation_id = api.post(URL, create_body(), format="json").json()["id"]
    outcomes = race(6, lambda _: generation_process(generation_id=generation_id).status)
    assert sorted(outcomes) == ["completed"] + ["skipped"] * 5
    assert ProviderAttempt.objects.filter(generation_id=generation_id).count() == 1


def test_the_locked_lookup_sees_what_the_previous_lock_holder_committed(workspace, sandbox):
    from django.db import transaction

    from generations.services.lookups import reusable_by_hash
    from tests.generations.test_inserts import _rows

    digest, lock = "h" * 64, f"{workspace.id}|slot"
    holding, waiting = threading.Event(), threading.Event()
    found: list[Any] = []

    def first() -> None:
        try:
            with transaction.atomic():
                assert reusable_by_hash(workspace_id=workspace.id, digest=digest, lock=lock) is None
                generation, _ = _rows(workspace, sandbox)
                generation.save(force_insert=True)
                holding.set()
                waiting.wait(timeout=10)  # the other lookup is blocked on the lock by now
        finally:
            connection.close()

    def second() -> None:
        try:
            holding.wait(timeout=10)
            with transaction.atomic():
                found.append(reusable_by_hash(workspace_id=workspace.id, digest=digest, lock=lock))
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(timeout=10)
    threading.Timer(0.3, waiting.set).start()
    for thread in threads:
        thread.join()
    assert found and found[0] is not None and found[0].reproducible_hash == digest


def test_a_slot_claimed_before_its_row_commits_is_a_cache_hit_not_a_second_row(
    user, workspace, sandbox, no_dispatch, monkeypatch
):
    # Two players, one scene slot (a scene id, strategy once), different hashes: the second
    # create finds the first's slot claimed while the first's row is not committed yet.
    # Outside the lock it must leave the slot alone; under the lock it finds the row.
    from generations.services import creation

    def body(player: str) -> dict[str, Any]:
        return create_body(
            config={"generation_type": "dialogue", "strategy": "once", "prompt": "greet"},
            player_context={"player_id": player, "playthrough_id": f"pt-{player}"},
            from_scene={"id": "tavern", "mood": "calm"},
        )

    claimed, go_on = threading.Event(), threading.Event()
    real_claim = creation.cache_slot_get_or_claim

    def slow_claim(**kwargs: Any) -> tuple[str | None, dict[str, Any]]:
        held = real_claim(**kwargs)
        claimed.set()
        go_on.wait(10)  # hold the transaction (and the slot lock) open after the claim
        return held

    monkeypatch.setattr(creation, "cache_slot_get_or_claim", slow_claim)
    results: dict[str, Any] = {}

    def post(player: str) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user)
            response = client.post(URL, body(player), format="json")
            results[player] = (response.status_code, response.json())
        finally:
            connection.close()

    first = threading.Thread(target=post, args=("a",))
    first.start()
    assert claimed.wait(10)
    monkeypatch.setattr(creation, "cache_slot_get_or_claim", real_claim)
    second = threading.Thread(target=post, args=("b",))
    second.start()
    second.join(1.0)  # it looked outside the lock and now waits for the lock
    go_on.set()
    first.join(10)
    second.join(10)
    assert results["a"][0] == 201
    assert results["b"][0] == 200 and results["b"][1]["reused"] == "cache", results["b"]
    assert results["b"][1]["id"] == results["a"][1]["id"]
    assert Generation.objects.count() == 1
