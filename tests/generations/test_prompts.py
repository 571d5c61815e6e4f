"""Prompt resolution (SPEC §5)."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from generations.models import PromptFamily, PromptVersion
from generations.services.prompts import prompt_render
from tests.builders import create_body

URL = "/api/v1/generations"


def test_render_substitutes_with_optional_spaces():
    text, used = prompt_render(
        "From {{from_scene}} to {{ to_scene }} with {{mood}} mood",
        variables={"from_scene": "Cafe", "to_scene": "Street", "mood": "energetic"},
    )
    assert text == "From Cafe to Street with energetic mood"
    assert used == {"from_scene": "Cafe", "to_scene": "Street", "mood": "energetic"}


def test_request_variables_beat_context_and_defaults():
    text, _ = prompt_render(
        "{{a}} {{b}} {{c}}",
        variables={"a": "req"},
        context={"a": "ctx", "b": "ctx"},
        defaults={"a": "def", "b": "def", "c": "def"},
    )
    assert text == "req ctx def"


def test_missing_variables_are_listed():
    with pytest.raises(ValidationFailed) as info:
        prompt_render("{{npc}} says {{line}} to {{npc}}", variables={})
    assert info.value.code == "missing_template_variables"
    assert "npc, line" in info.value.message


@pytest.fixture
def family(workspace):
    family = PromptFamily.objects.create(workspace=workspace, slug="greeting", title="Greeting")
    PromptVersion.objects.create(
        family=family, version_number=1, template="Old {{npc_name}}", is_active=False
    )
    PromptVersion.objects.create(
        family=family,
        version_number=2,
        template="{{npc_name}} greets you, feeling {{mood_to}}",
        variables={"npc_name": None, "mood_to": "calm"},
    )
    return family


def test_template_id_uses_the_active_version_with_context(api, family):
    body = create_body(
        config={"generation_type": "dialogue", "prompt": ""},
        template_id="greeting",
        template_variables={"npc_name": "Mira"},
        to_scene={"id": "s2", "mood": "wistful"},
    )
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    generation = response.json()
    assert generation["final_prompt"] == "Mira greets you, feeling wistful"
    assert generation["prompt_version_id"] == str(family.versions.get(version_number=2).id)
    assert generation["template_variables"] == {"npc_name": "Mira", "mood_to": "wistful"}


def test_declared_variable_without_default_is_required(api, family):
    body = create_body(config={"generation_type": "dialogue"}, template_id="greeting")
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_template_variables"
    assert "npc_name" in response.json()["error"]["message"]


def test_prompt_version_id_wins_and_must_be_in_the_workspace(api, family, other_api):
    old = family.versions.get(version_number=1)
    body = create_body(prompt_version_id=str(old.id), template_variables={"npc_name": "Ro"})
    assert api.post(URL, body, format="json").json()["final_prompt"] == "Old Ro"
    response = other_api.post(URL, body, format="json")
    assert response.json()["error"]["code"] == "prompt_version_not_found"


def test_ab_pick_is_sticky_per_playthrough(api, family):
    PromptVersion.objects.create(
        family=family,
        version_number=3,
        template="Hey, it's {{npc_name}}",
        variables={"npc_name": None},
        weight=1,
    )
    picks = set()
    for playthrough in [f"p{i}" for i in range(24)]:  # all on one variant: p = 2**-23
        prompts = {
            api.post(
                URL,
                create_body(
                    config={"generation_type": "dialogue", "strategy": "always"},
                    template_id="greeting",
                    template_variables={"npc_name": "Mira"},
                    player_context={"playthrough_id": playthrough},
                ),
                format="json",
            ).json()["final_prompt"]
            for _ in range(2)
        }
        assert len(prompts) == 1  # the same playthrough always gets the same variant
        picks |= prompts
    assert len(picks) == 2  # both variants are in use across playthroughs
