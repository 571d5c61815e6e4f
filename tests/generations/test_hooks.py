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


def test_a_guard_refuses_before_anything_is_written(api, hooked):
    response = api.post(URL, create_body(config={"prompt": "a costly scene"}), format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (402, "budget_exceeded")
    assert Generation.objects.count() == 0
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
