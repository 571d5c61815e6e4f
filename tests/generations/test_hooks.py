"""Extension points: a create guard may refuse, listeners hear every change once."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ApiError
from generations.models import Generation
from tests.builders import create_body

URL = "/api/v1/generations"
HEARD: list[Any] = []


def refuse_costly(generation: Generation, prepared: Any) -> None:
    if "costly" in generation.final_prompt:
        raise ApiError("Too costly.", code="budget_exceeded", status_code=402)
    generation.description = "checked"


def listen(change: Any) -> None:
    HEARD.append((change.from_status, change.to_status, change.event_id > 0))


def reused(generation: Generation, reason: str) -> None:
    HEARD.append(("reused", reason, str(generation.id)))


@pytest.fixture
def hooked(settings: Any) -> list[Any]:
    HEARD.clear()
    settings.GENPIPE_CREATE_GUARDS = ["tests.generations.test_hooks.refuse_costly"]
    settings.GENPIPE_TRANSITION_LISTENERS = ["tests.generations.test_hooks.listen"]
    settings.GENPIPE_REUSE_LISTENERS = ["tests.generations.test_hooks.reused"]
    return HEARD


def _slot_of(body: dict[str, Any], workspace: Any) -> str | None:
    from caching.services import cache_slot_get
    from generations.serializers import GenerationCreateSerializer
    from generations.services.creation import request_prepare

    serializer = GenerationCreateSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    key = request_prepare(workspace=workspace, data=dict(serializer.validated_data)).cache_key
    assert key is not None
    return cache_slot_get(workspace_id=workspace.id, key=key)


def test_a_guard_refuses_before_anything_is_written(api, hooked, workspace):
    costly = create_body(config={"prompt": "a costly scene"})
    response = api.post(URL, costly, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (402, "budget_exceeded")
    assert Generation.objects.count() == 0
    assert _slot_of(costly, workspace) is None  # claimed with the look, freed on refusal
    ok = api.post(URL, create_body(config={"prompt": "a cheap scene"}), format="json")
    assert ok.status_code == 201
    assert Generation.objects.get(id=ok.json()["id"]).description == "checked"


def test_listeners_hear_each_change_after_commit_and_each_reuse(
    api, hooked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, create_body(), format="json").json()
    assert hooked == [
        ("", "pending", True),
        ("pending", "processing", True),
        ("processing", "completed", True),
    ]
    hooked.clear()
    again = api.post(URL, create_body(), format="json").json()
    assert hooked == [("reused", again["reused"], first["id"])]


def looked_up(outcome: str, operation_type: str) -> None:
    HEARD.append(("lookup", outcome, operation_type))


def attempted(attempt: Any) -> None:
    HEARD.append(attempt)


def test_lookup_and_attempt_listeners_hear_what_telemetry_counts(
    api, sandbox, settings, django_capture_on_commit_callbacks
):
    HEARD.clear()
    settings.GENPIPE_CACHE_LOOKUP_LISTENERS = ["tests.generations.test_hooks.looked_up"]
    settings.GENPIPE_ATTEMPT_LISTENERS = ["tests.generations.test_hooks.attempted"]
    body = create_body(config={"generation_type": "dialogue", "prompt": "hear the call"})
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, body, format="json").json()
    lookup, attempt = HEARD
    assert lookup == ("lookup", "miss", "dialogue")
    generation = Generation.objects.get(id=first["id"])
    row = generation.attempts.get()
    assert (attempt.generation_id, attempt.provider_id) == (generation.id, "sandbox")
    assert (attempt.operation_type, attempt.outcome, attempt.error_code) == (
        "dialogue",
        "succeeded",
        "",
    )
    assert attempt.model == "sandbox-text-1"  # the model the provider answered with
    assert (attempt.tokens_in, attempt.tokens_out) == (row.tokens_in, row.tokens_out)
    assert attempt.cost_usd == row.cost_usd == generation.cost_usd
    assert (attempt.latency_ms, attempt.started_at) == (row.latency_ms, row.started_at)
    HEARD.clear()
    api.post(URL, body, format="json")
    forced = create_body(config={"generation_type": "dialogue", "prompt": "x"}, force_new=True)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, forced, format="json")
    # the repeat is a dedup hit; force_new consults no cache (it still calls the provider)
    assert HEARD[0] == ("lookup", "dedup", "dialogue")
    assert len(HEARD) == 2 and HEARD[1].outcome == "succeeded"


def test_a_failed_call_reaches_the_attempt_listeners_with_its_code(
    api, sandbox, settings, django_capture_on_commit_callbacks
):
    HEARD.clear()
    settings.GENPIPE_ATTEMPT_LISTENERS = ["tests.generations.test_hooks.attempted"]
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy", "max_retries": 0}
    sandbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, create_body(config={"prompt": "fails"}), format="json")
    (attempt,) = HEARD
    assert (attempt.outcome, attempt.error_code) == ("failed", "sandbox_busy")


def test_a_create_publishes_its_task_before_the_listeners_hear_it(
    api, hooked, monkeypatch, django_capture_on_commit_callbacks
):
    # The worker starts on the task while the creating process runs the listeners' round.
    from generations.services import dispatch

    monkeypatch.setattr(
        dispatch, "task_publish", lambda task, **options: HEARD.append(("published", task.name))
    )
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, create_body(config={"prompt": "published first"}), format="json")
    assert hooked == [("published", "generations.process_generation"), ("", "pending", True)]
