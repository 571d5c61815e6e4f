"""POST /api/v1/generations: the create flow through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from generations.models import Generation, GenerationEvent, Status
from tests.builders import create_body, transition_body

URL = "/api/v1/generations"


def post(api: Any, body: dict[str, Any], **headers: str) -> Any:
    return api.post(URL, body, format="json", headers=headers)


def test_legacy_flat_payload_is_rejected_with_pointer_to_structured_format(api):
    response = post(api, {"prompt": "a cat", "quality": "high", "duration": 5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "legacy_payload_rejected"
    assert "simple-image-to-video" in error["message"]
    assert Generation.objects.count() == 0


def test_structured_request_creates_pending_generation_with_event(api):
    response = post(api, create_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["reused"] is None
    assert body["operation_type"] == "text_to_image"
    assert body["provider_id"] == "sandbox"
    assert body["final_prompt"] == "a lighthouse at dusk"
    assert len(body["reproducible_hash"]) == 64
    assert body["cache_key"].startswith("generation:text_to_image|adaptive|hash:")
    for field in (
        "id",
        "workspace_id",
        "purpose",
        "strategy",
        "canonical_params",
        "social_context",
        "result",
        "error",
        "priority",
        "retry_count",
        "parent_generation_id",
        "created_at",
        "started_at",
        "completed_at",
    ):
        assert field in body
    events = GenerationEvent.objects.filter(generation_id=body["id"])
    assert [(e.from_status, e.to_status) for e in events] == [("", "pending")]


def test_identical_request_is_deduplicated_with_200(api):
    first = post(api, create_body())
    second = post(api, create_body())
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["reused"] == "dedup"
    assert Generation.objects.count() == 1


def test_key_order_and_integral_floats_do_not_change_the_hash(api):
    body = create_body(config={"duration": {"target": 5.0, "max": 10.0, "min": 1}})
    first = post(api, create_body())
    second = post(api, body)
    assert second.json()["reproducible_hash"] == first.json()["reproducible_hash"]


def test_same_slot_with_different_content_is_served_from_cache(api):
    first = post(api, transition_body())
    other = transition_body()
    other["config"]["prompts"] = ["run through the storm"]
    second = post(api, other)
    assert second.status_code == 200
    assert second.json()["reused"] == "cache"
    assert second.json()["id"] == first.json()["id"]
    assert first.json()["cache_key"] == (
        "generation:video_transition|gap_fill|scene-123|scene-456|per_playthrough|pt:pt-9|v1"
    )


def test_per_player_and_version_change_the_slot(api):
    body = transition_body()
    body["config"].update(strategy="per_player", version=3)
    body["player_context"] = {"player_id": "p-42"}
    response = post(api, body)
    assert response.json()["cache_key"] == (
        "generation:video_transition|gap_fill|scene-123|scene-456|per_player|player:p-42|v3"
    )


def test_always_strategy_is_never_cached_or_deduplicated(api):
    body = create_body(config={"strategy": "always"})
    first, second = post(api, body), post(api, body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["cache_key"] == ""


def test_force_new_creates_a_fresh_generation_and_takes_the_slot(api):
    first = post(api, create_body())
    forced = post(api, create_body(force_new=True))
    assert forced.status_code == 201
    assert forced.json()["id"] != first.json()["id"]
    again = post(api, transition_body())
    assert again.status_code == 201


def test_failed_generation_frees_its_slot(api, django_capture_on_commit_callbacks):
    from generations.services.lifecycle import generation_transition

    first = post(api, transition_body()).json()
    with django_capture_on_commit_callbacks(execute=True):
        generation_transition(generation_id=first["id"], to_status=Status.PROCESSING)
        generation_transition(generation_id=first["id"], to_status=Status.FAILED)
    second = post(api, transition_body())
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]


def test_cancelled_generation_frees_its_slot_and_is_not_reused(
    api, django_capture_on_commit_callbacks
):
    first = post(api, transition_body()).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{URL}/{first['id']}/cancel").status_code == 200
    other = transition_body()
    other["config"]["prompts"] = ["different"]
    replacement = post(api, other)
    assert replacement.status_code == 201
    again = post(api, transition_body())
    assert again.json()["reused"] == "cache"
    assert again.json()["id"] == replacement.json()["id"] != first["id"]


def test_dedup_never_crosses_workspaces(api, other_api):
    first = post(api, create_body())
    theirs = post(other_api, create_body())
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.json()["reproducible_hash"] == first.json()["reproducible_hash"]


@pytest.mark.parametrize(
    ("config", "extra", "code", "field"),
    [
        ({"generation_type": "hologram"}, {}, "invalid_choice", "config.generation_type"),
        ({"strategy": "sometimes"}, {}, "invalid_choice", "config.strategy"),
        ({"duration": {"min": 30, "max": 10}}, {}, "duration_range_invalid", "config.duration"),
        (
            {"duration": {"min": 1, "max": 10, "target": 11}},
            {},
            "duration_target_out_of_range",
            "config.duration.target",
        ),
        ({"duration": {"min": -1}}, {}, "min_value", "config.duration.min"),
        (
            {"constraints": {"required_elements": ["rain"], "avoid_elements": ["rain"]}},
            {},
            "elements_conflict",
            "config.constraints",
        ),
        (
            {"fallback": {"mode": "default_content"}},
            {},
            "default_content_id_required",
            "config.fallback.default_content_id",
        ),
        (
            {"fallback": {"mode": "retry", "max_retries": 11}},
            {},
            "max_value",
            "config.fallback.max_retries",
        ),
        (
            {"fallback": {"mode": "retry", "timeout_ms": 10}},
            {},
            "min_value",
            "config.fallback.timeout_ms",
        ),
        ({"prompt": ""}, {}, "prompt_required", "config.prompt"),
        ({"generation_type": "image_to_video"}, {}, "image_url_required", "config.image_url"),
        (
            {"generation_type": "image_to_video", "image_url": "ftp://x/y.png"},
            {},
            "invalid_url",
            "config.image_url",
        ),
        (
            {"generation_type": "transition", "image_urls": ["https://x.example/1.png"]},
            {},
            "image_urls_required",
            "config.image_urls",
        ),
        (
            {
                "generation_type": "transition",
                "image_urls": [
                    "https://x.example/1.png",
                    "https://x.example/2.png",
                    "https://x.example/3.png",
                ],
                "prompts": ["one"],
            },
            {},
            "transition_prompts_mismatch",
            "config.prompts",
        ),
        ({"generation_type": "video_extend"}, {}, "video_url_required", "config.video_url"),
        (
            {"strategy": "per_playthrough"},
            {},
            "playthrough_id_required",
            "player_context.playthrough_id",
        ),
        ({"strategy": "per_player"}, {}, "player_id_required", "player_context.player_id"),
        ({}, {"provider_id": "nope"}, "provider_not_found", "provider_id"),
        ({}, {"priority": 11}, "max_value", "priority"),
        ({}, {"surprise": 1}, "unknown_field", "surprise"),
        (
            {},
            {"social_context": {"content_rating": "x-rated"}},
            "invalid_choice",
            "social_context.content_rating",
        ),
        ({}, {"template_id": "missing-family"}, "template_not_found", "template_id"),
    ],
)
def test_invalid_requests_get_400_with_code_and_field(api, config, extra, code, field):
    response = post(api, create_body(config=config, **extra))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]
    assert Generation.objects.count() == 0


def test_disabled_provider_and_unsupported_operation_are_rejected(api, sandbox):
    sandbox.operation_types = ["dialogue"]
    sandbox.save()
    response = post(api, create_body())
    assert response.json()["error"]["code"] == "operation_not_supported"
    sandbox.enabled = False
    sandbox.save()
    assert post(api, create_body()).json()["error"]["code"] == "provider_disabled"


def test_camel_case_editor_config_is_accepted(api):
    body = {
        "config": {
            "generationType": "dialogue",
            "purpose": "adaptive",
            "strategy": "per_player",
            "fallback": {"mode": "retry", "maxRetries": 2},
            "prompt": "greet the player",
            "constraints": {"requiredElements": ["smile"]},
        },
        "providerId": "sandbox",
        "playerContext": {"playerId": "p1", "flags": {"metQueen": True}},
    }
    response = post(api, body)
    assert response.status_code == 201, response.content
    generation = response.json()
    assert generation["operation_type"] == "dialogue"
    assert generation["canonical_params"]["player"] == {
        "player_id": "p1",
        "flags": {"metQueen": True},
    }


def test_social_context_is_clamped_and_recorded(api, workspace):
    body = create_body(
        social_context={
            "relationship_values": {"affinity": 85, "chemistry": 85, "trust": 65},
            "user_max_rating": "mature_implied",
        }
    )
    generation = post(api, body).json()
    social = generation["social_context"]
    assert social["intimacy_level_id"] == "very_intimate"
    assert social["relationship_tier_id"] == "lover"
    assert social["content_rating"] == "romantic"  # workspace max
    assert social["rating_clamped"] is True
    assert social["original_rating"] == "mature_implied"


def test_social_context_changes_the_hash(api):
    first = post(api, create_body()).json()
    social = post(api, create_body(social_context={"intimacy_band": "light"})).json()
    assert social["reproducible_hash"] != first["reproducible_hash"]


def test_priority_and_name_do_not_change_the_hash(api):
    first = post(api, create_body()).json()
    second = post(api, create_body(priority=1, name="renamed", description="x")).json()
    assert second["id"] == first["id"]


def test_nested_scene_change_changes_the_hash(api):
    first = post(api, transition_body()).json()
    body = transition_body()
    body["to_scene"]["id"] = "scene-789"
    second = post(api, body).json()
    assert second["reproducible_hash"] != first["reproducible_hash"]


def test_parent_must_belong_to_the_workspace(api, other_api):
    theirs = post(other_api, create_body()).json()
    response = post(api, create_body(parent_generation_id=theirs["id"]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parent_not_found"


def test_workspace_of_another_tenant_is_not_found(api, other_api):
    response = post(api, create_body(workspace_id="rival"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "workspace_not_found"


def test_simple_image_to_video_goes_through_the_same_flow(api):
    body = {
        "provider_id": "sandbox",
        "prompt": "the door creaks open",
        "image_url": "https://cdn.example/door.png",
    }
    response = api.post(f"{URL}/simple-image-to-video", body, format="json")
    assert response.status_code == 201, response.content
    generation = response.json()
    assert generation["operation_type"] == "image_to_video"
    assert generation["strategy"] == "always"
    assert generation["purpose"] == "adaptive"
    assert generation["priority"] == 7
    assert generation["canonical_params"]["media"]["image_url"] == body["image_url"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "", "image_url": "https://x.example/y.png"}, "prompt"),
        ({"prompt": "p" * 4097, "image_url": "https://x.example/y.png"}, "prompt"),
        ({"prompt": "ok", "image_url": "javascript:alert(1)"}, "image_url"),
        ({"prompt": "ok", "image_url": "https://x.example/" + "a" * 2050}, "image_url"),
    ],
)
def test_simple_image_to_video_rejects_bad_input(api, body, field):
    response = api.post(f"{URL}/simple-image-to-video", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
