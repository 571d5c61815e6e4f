"""One description per output: the rendered generation and its OpenAPI schema agree."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from generations.models import Generation
from generations.rendering import generation_json
from generations.services.lifecycle import generation_transition
from tests.builders import create_body

URL = "/api/v1/generations"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"][
        "Generation"
    ]


def _generations(api: Any) -> dict[str, Generation]:
    made = {}
    for status in ("pending", "processing", "completed", "failed", "cancelled"):
        body = create_body(config={"prompt": f"a {status} one", "strategy": "always"})
        generation = Generation.objects.get(id=api.post(URL, body, format="json").json()["id"])
        if status != "pending":
            generation_transition(generation_id=generation.id, to_status="processing")
        if status in ("completed", "failed", "cancelled"):
            fields = {"result": {"text": "hi"}} if status == "completed" else {}
            if status == "failed":
                fields = {"error_code": "provider_timeout", "error_message": "slow"}
            generation_transition(generation_id=generation.id, to_status=status, fields=fields)
        generation.refresh_from_db()
        made[status] = generation
    return made


def test_the_rendered_keys_are_the_schema_properties_for_every_status(api, no_dispatch, schema):
    properties = schema["properties"]
    for status, generation in _generations(api).items():
        for reused in (None, "cache", "dedup", "idempotency"):
            rendered = generation_json(generation, reused=reused)
            assert set(rendered) == set(properties), status
            for key, value in rendered.items():
                if value is None:
                    assert properties[key].get("nullable"), f"{key} is null for {status}"


def test_the_api_answers_with_the_same_rendering(api, no_dispatch):
    body = create_body(config={"prompt": "rendered", "strategy": "once"})
    created = api.post(URL, body, format="json").json()
    generation = Generation.objects.get(id=created["id"])
    assert created == generation_json(generation)
    assert api.get(f"{URL}/{generation.id}").json() == generation_json(generation)
    again = api.post(URL, body, format="json").json()
    assert again == generation_json(generation, reused=again["reused"])
    assert again["reused"] in {"cache", "dedup"}
