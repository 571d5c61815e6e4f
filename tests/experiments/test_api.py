"""Prompt library, render, feedback and experiment endpoints."""

from __future__ import annotations

import pytest

from experiments.models import Exposure
from generations.models import Generation, PromptAssignment, PromptFamily, PromptVersion
from tests.builders import create_body

FAMILIES = "/api/v1/prompt-families"
GREETING = "Hello from {{npc_name}}, feeling {{mood_to}}"


def _family(api, slug="greeting", **extra):
    response = api.post(FAMILIES, {"slug": slug, "name": "Greeting", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _version(api, slug="greeting", template=GREETING, **extra):
    body = {"template": template, "variables": {"npc_name": None, "mood_to": "calm"}, **extra}
    response = api.post(f"{FAMILIES}/{slug}/versions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _ab(api):
    _family(api)
    _version(api, template="A: " + GREETING)
    _version(api, template="B: " + GREETING)


def _create(api, **body):
    response = api.post("/api/v1/generations", create_body(**body), format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def _dialogue(playthrough, **extra):
    # per_playthrough: each playthrough has its own slot (``once`` would share one).
    return {
        "config": {"generation_type": "dialogue", "prompt": "", "strategy": "per_playthrough"},
        "template_id": "greeting",
        "template_variables": {"npc_name": "Mira"},
        "player_context": {"playthrough_id": playthrough},
        **extra,
    }


def test_family_and_version_crud(api):
    family = _family(api, description="hi")
    assert family["name"] == "Greeting" and family["allocation"] == "fixed"
    v1 = _version(api, labels=["production"], notes="first")
    v2 = _version(api, labels=["production", "staging"])
    assert (v1["number"], v2["number"]) == (1, 2)
    listed = api.get(f"{FAMILIES}/greeting/versions").json()["results"]
    # A label names one version: v2 took "production" from v1.
    assert [v["labels"] for v in listed] == [[], ["production", "staging"]]
    patched = api.patch(f"{FAMILIES}/greeting", {"allocation": "adaptive"}, format="json")
    assert patched.json()["allocation"] == "adaptive"
    off = api.post(f"{FAMILIES}/greeting/versions/1/deactivate")
    assert off.json()["active"] is False
    weight = api.patch(f"{FAMILIES}/greeting/versions/2", {"weight": 3}, format="json")
    assert weight.json()["weight"] == 3
    assert api.delete(f"{FAMILIES}/greeting").status_code == 204
    assert not PromptFamily.objects.exists()


def test_versions_are_immutable_and_errors_use_the_envelope(api):
    _family(api)
    _version(api)
    response = api.patch(f"{FAMILIES}/greeting/versions/1", {"template": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "version_immutable"
    dup = api.post(FAMILIES, {"slug": "greeting", "name": "again"}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "prompt_family_exists"
    bad = api.post(FAMILIES, {"slug": "no spaces", "name": "x"}, format="json")
    assert bad.status_code == 400 and "slug" in bad.json()["error"]["fields"]
    missing = api.get(f"{FAMILIES}/greeting/versions/9")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "prompt_version_not_found"


def test_another_workspaces_family_is_not_found(api, other_api):
    _family(api)
    for method, url in [
        ("get", f"{FAMILIES}/greeting"),
        ("get", f"{FAMILIES}/greeting/versions"),
        ("get", f"{FAMILIES}/greeting/experiment"),
        ("delete", f"{FAMILIES}/greeting"),
    ]:
        response = getattr(other_api, method)(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "prompt_family_not_found"
    assert other_api.get(FAMILIES).json()["results"] == []


def test_render_matches_what_a_create_resolves(api, no_dispatch):
    _ab(api)
    for playthrough in ("pt-1", "pt-2", "pt-3", "pt-4", "pt-5"):
        body = _dialogue(playthrough, to_scene={"id": "harbour", "mood": "wistful"})
        rendered = api.post("/api/v1/prompts/render", body, format="json")
        assert rendered.status_code == 200, rendered.content
        rendered = rendered.json()
        assert PromptAssignment.objects.filter(key=playthrough).count() == 0  # wrote nothing
        created = _create(api, **body)
        assert rendered["final_prompt"] == created["final_prompt"]
        assert rendered["prompt_version_id"] == created["prompt_version_id"]
        assert rendered["variables"] == created["template_variables"]
        assert rendered["missing_variables"] == []


def test_render_lists_missing_variables_instead_of_failing(api):
    _family(api)
    _version(api)
    body = {"template_id": "greeting"}
    response = api.post("/api/v1/prompts/render", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["missing_variables"] == ["npc_name"]
    assert data["final_prompt"] == "Hello from {{npc_name}}, feeling calm"
    inline = api.post("/api/v1/prompts/render", {"config": {"prompt": "hi {{who}}"}}, format="json")
    assert inline.json() == {
        "final_prompt": "hi {{who}}",
        "prompt_version_id": None,
        "variables": {},
        "missing_variables": ["who"],
    }


def test_template_label_picks_the_labelled_version(api, no_dispatch):
    _ab(api)
    staging = _version(api, template="S: " + GREETING, labels=["staging"], active=False)
    created = _create(api, **_dialogue("pt-1", template_label="staging"))
    assert created["prompt_version_id"] == staging["prompt_version_id"]
    unknown = api.post(
        "/api/v1/generations",
        create_body(**_dialogue("pt-1", template_label="nope")),
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"]["template_label"][0]["code"] == (
        "template_label_not_found"
    )


def test_assignment_stays_sticky_when_weights_change(api, no_dispatch):
    _ab(api)
    first = {pt: _create(api, **_dialogue(pt))["prompt_version_id"] for pt in ("a", "b", "c", "d")}
    # Give all new traffic to version 1: existing playthroughs keep their version.
    api.patch(f"{FAMILIES}/greeting/versions/2", {"weight": 0}, format="json")
    again = {pt: _create(api, **_dialogue(pt, force_new=True))["prompt_version_id"] for pt in first}
    assert again == first
    v1 = str(PromptVersion.objects.get(version_number=1).id)
    assert {_create(api, **_dialogue(f"new-{i}"))["prompt_version_id"] for i in range(5)} == {v1}


def test_feedback_is_idempotent_per_rater(api, no_dispatch):
    generation = _create(api)
    url = f"/api/v1/generations/{generation['id']}/feedback"
    first = api.post(url, {"metric": "rating", "value": 2, "rater_id": "p1"}, format="json")
    assert first.status_code == 201, first.content
    repeat = api.post(url, {"metric": "rating", "value": 5, "rater_id": "p1"}, format="json")
    assert repeat.status_code == 200
    api.post(url, {"metric": "rating", "value": 3, "rater_id": "p2"}, format="json")
    rows = api.get(url).json()["results"]
    assert sorted((r["rater_id"], r["value"]) for r in rows) == [("p1", 5.0), ("p2", 3.0)]


@pytest.mark.parametrize(
    ("metric", "value"),
    [("rating", 6), ("rating", 2.5), ("rating", "4"), ("skipped", 0.5), ("nope", 1)],
)
def test_bad_feedback_is_a_400(api, no_dispatch, metric, value):
    api.post("/api/v1/feedback-metrics", {"name": "skipped", "kind": "boolean"}, format="json")
    generation = _create(api)
    response = api.post(
        f"/api/v1/generations/{generation['id']}/feedback",
        {"metric": metric, "value": value},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"invalid_feedback_value", "metric_not_found"}


def test_feedback_is_isolated_per_workspace(api, other_api, no_dispatch):
    generation = _create(api)
    url = f"/api/v1/generations/{generation['id']}/feedback"
    assert other_api.post(url, {"metric": "rating", "value": 1}, format="json").status_code == 404
    assert other_api.get(url).status_code == 404
    created = other_api.post(
        "/api/v1/feedback-metrics", {"name": "completion", "kind": "float"}, format="json"
    )
    assert created.status_code == 201
    names = [m["name"] for m in api.get("/api/v1/feedback-metrics").json()["results"]]
    assert names == ["rating"]  # the built-in one; not the other workspace's


def test_exposures_count_cache_hits_for_the_version_that_made_them(api, no_dispatch):
    _ab(api)
    body = _dialogue("pt-7")
    first = _create(api, **body)
    for _ in range(3):
        assert _create(api, **body)["id"] == first["id"]  # reused
    assert Exposure.objects.filter(version_id=first["prompt_version_id"]).count() == 3
    report = api.get(f"{FAMILIES}/greeting/experiment").json()
    by_id = {v["prompt_version_id"]: v for v in report["variants"]}
    assert by_id[first["prompt_version_id"]]["exposures"] == 4
    assert by_id[first["prompt_version_id"]]["generations"] == 1


def test_experiment_report_verdict_and_promote(api, no_dispatch):
    _ab(api)
    versions = {v.version_number: v for v in PromptVersion.objects.all()}
    ratings = {1: 2, 2: 5}
    for number, version in versions.items():
        for i in range(40):
            g = _create(
                api,
                prompt_version_id=str(version.id),
                template_variables={"npc_name": f"n{i}"},
            )
            value = ratings[number] if i % 4 else 3
            api.post(
                f"/api/v1/generations/{g['id']}/feedback",
                {"metric": "rating", "value": value, "rater_id": "r"},
                format="json",
            )
    report = api.get(f"{FAMILIES}/greeting/experiment").json()
    assert report["verdict"] == "winner" and report["winner"] == 2
    rating = {v["version"]: v["metrics"]["rating"] for v in report["variants"]}
    assert rating[2]["n"] == 40 and rating[2]["p_best"] > 0.99
    low, high = rating[1]["interval"]
    assert low < rating[1]["mean"] < high
    promoted = api.post(f"{FAMILIES}/greeting/experiment/promote", {}, format="json")
    assert promoted.status_code == 200 and promoted.json()["number"] == 2
    assert list(PromptVersion.objects.filter(is_active=True)) == [versions[2]]


def test_promote_without_a_winner_is_a_409(api):
    _ab(api)
    response = api.post(f"{FAMILIES}/greeting/experiment/promote", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_winner"


def test_adaptive_family_reweighs_on_feedback(api, no_dispatch, django_capture_on_commit_callbacks):
    _family(api, allocation="adaptive", min_samples=5, floor_weight=0.1)
    _version(api, template="A " + GREETING)
    _version(api, template="B " + GREETING)
    for number, value in ((1, 1), (2, 5)):
        version = PromptVersion.objects.get(version_number=number)
        for i in range(8):
            g = _create(
                api,
                prompt_version_id=str(version.id),
                template_variables={"npc_name": f"n{i}"},
            )
            with django_capture_on_commit_callbacks(execute=True):  # re-weighs after commit
                api.post(
                    f"/api/v1/generations/{g['id']}/feedback",
                    {"metric": "rating", "value": value - (i % 2) if value == 5 else value + i % 2},
                    format="json",
                )
    weights = dict(PromptVersion.objects.values_list("version_number", "adaptive_weight"))
    assert weights[1] == pytest.approx(0.1) and weights[2] == pytest.approx(0.9)
    assert Generation.objects.count() == 16


def test_render_takes_moods_from_the_config_style_and_refuses_bad_shapes(api):
    _family(api)
    _version(api)
    body = {
        "config": {"generation_type": "dialogue", "style": {"mood_to": "giddy"}},
        "template_id": "greeting",
        "template_variables": {"npc_name": "Mira"},
    }
    response = api.post("/api/v1/prompts/render", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["final_prompt"] == "Hello from Mira, feeling giddy"
    for bad in ({"config": {"style": "loud"}}, {"template_variables": [1]}, [1, 2]):
        response = api.post("/api/v1/prompts/render", bad, format="json")
        assert response.status_code == 400, bad
        assert "error" in response.json()
