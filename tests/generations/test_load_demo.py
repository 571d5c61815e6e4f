"""``manage.py load_demo``: the demo world, idempotent, through the real create flow."""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from generations.models import (
    Generation,
    PromptFamily,
    PromptVersion,
    Provider,
    Status,
    Workspace,
    WorkspaceMembership,
)
from generations.serializers import GenerationCreateSerializer
from generations.services.demo import CYCLE, demo_load, demo_request

pytestmark = pytest.mark.django_db


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", "--latency-ms", "0", *args, stdout=out)
    return out.getvalue()


def printed_token(output: str) -> str:
    match = re.search(r"^API token: (\S+)$", output, flags=re.MULTILINE)
    assert match, output
    return match.group(1)


def snapshot() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "workspaces": Workspace.objects.count(),
        "memberships": WorkspaceMembership.objects.count(),
        "families": PromptFamily.objects.count(),
        "versions": PromptVersion.objects.count(),
        "tokens": Token.objects.count(),
        "generations": Generation.objects.count(),
    }


def test_load_demo_creates_the_demo_world():
    output = load_demo()

    workspace = Workspace.objects.get(slug="demo")
    assert workspace.name == "Demo Studio"
    assert workspace.max_content_rating == "romantic"
    assert workspace.default_provider_id == "sandbox"

    demo = get_user_model().objects.get(username="demo")
    assert demo.is_staff and demo.is_superuser
    assert demo.check_password("demo-password")
    roles = dict(workspace.memberships.values_list("user__username", "role"))
    assert roles == {"demo": "owner", "writer": "member"}

    assert printed_token(output) == Token.objects.get(user=demo).key
    assert "demo / demo-password" in output

    sandbox = Provider.objects.get(id="sandbox")
    assert sandbox.settings["latency_ms"] == 0
    assert sandbox.settings["failure_rate"] == 0.1

    greeting = PromptFamily.objects.get(workspace=workspace, slug="npc-greeting")
    versions = list(greeting.versions.filter(is_active=True))
    assert [(v.version_number, v.weight) for v in versions] == [(2, 1), (1, 1)]
    assert all({"npc_name", "mood_to"} <= set(v.variables) for v in versions)
    assert "{{npc_name}}" in versions[0].template
    assert PromptVersion.objects.filter(family__slug="scene-transition").count() == 1


def test_generations_are_a_realistic_mix_created_through_the_service():
    output = load_demo()

    generations = Generation.objects.filter(workspace__slug="demo")
    assert generations.count() == 40
    assert "40 created" in output
    assert "10 generations created" in output and "40 generations created" in output
    operations = Counter(generations.values_list("operation_type", flat=True))
    assert set(operations) == {
        "text_to_image",
        "npc_response",
        "dialogue",
        "video_transition",
        "image_to_video",
        "text_to_video",
        "fusion",
    }
    strategies = set(generations.values_list("strategy", flat=True))
    assert strategies == {"once", "per_player", "per_playthrough", "always"}
    # Rows went through the create flow: pending, hashed, first event, prompt resolved.
    assert set(generations.values_list("status", flat=True)) == {Status.PENDING}
    assert all(len(g.reproducible_hash) == 64 for g in generations)
    assert all(g.events.count() == 1 for g in generations)
    assert generations.filter(prompt_version__family__slug="npc-greeting").exists()
    transition = generations.filter(operation_type="video_transition").first()
    assert transition is not None
    assert transition.final_prompt.startswith("Cinematic transition from")
    assert re.fullmatch(
        r"generation:video_transition\|gap_fill\|[a-z-]+\|[a-z-]+\|per_playthrough\|pt:pt-\d+\|v1",
        transition.cache_key,
    )
    assert generations.filter(social_context__relationship_tier_id="lover").exists()
    clamped = generations.filter(social_context__rating_clamped=True).first()
    assert clamped is not None and clamped.social_context["content_rating"] == "romantic"
    assert set(generations.values_list("created_by__username", flat=True)) == {"demo", "writer"}


def test_repeated_requests_are_reused_via_dedup_and_cache():
    result = demo_load(generations=24, latency_ms=0)

    assert result.created == 24
    assert result.reused == Counter({"dedup": 2, "cache": 2})
    assert Generation.objects.count() == 24


def test_running_twice_does_not_duplicate_anything():
    first = load_demo()
    before = snapshot()

    second = load_demo()

    assert snapshot() == before
    assert "0 created, 0 reused" in second
    assert printed_token(second) == printed_token(first)
    assert get_user_model().objects.get(username="demo").check_password("demo-password")


def test_generations_option_tops_up_and_never_deletes():
    load_demo("--generations", "12")
    assert Generation.objects.count() == 12

    output = load_demo("--generations", "20")
    assert Generation.objects.count() == 20
    assert "8 created" in output
    names = list(Generation.objects.values_list("name", flat=True))
    assert len(names) == len(set(names))  # the second run continued the sequence

    load_demo("--generations", "5")
    assert Generation.objects.count() == 20


def test_a_deleted_sandbox_provider_is_recreated():
    Provider.objects.filter(id="sandbox").delete()

    load_demo("--generations", "3")

    sandbox = Provider.objects.get(id="sandbox")
    assert sandbox.enabled and sandbox.supports("video_transition")
    assert Generation.objects.filter(provider=sandbox).count() == 3


def test_queued_generations_are_processed_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo("--generations", "12")

    statuses = Counter(Generation.objects.values_list("status", flat=True))
    assert set(statuses) <= {Status.COMPLETED, Status.FAILED}
    assert statuses[Status.COMPLETED] > 0


@pytest.mark.parametrize("index", range(2 * CYCLE))
def test_every_demo_request_is_a_valid_api_body(index: int) -> None:
    serializer = GenerationCreateSerializer(data=demo_request(index))
    assert serializer.is_valid(), serializer.errors


def test_a_second_load_keeps_settings_edited_in_the_admin():
    load_demo("--generations", "3")
    sandbox = Provider.objects.get(id="sandbox")
    edited = {"latency_ms": 1234, "failure_rate": 0.5, "max_retries": 4, "reject_marker": "NO"}
    sandbox.settings = edited
    sandbox.save()
    Workspace.objects.filter(slug="demo").update(name="Our studio", max_content_rating="sfw")

    out = io.StringIO()
    call_command("load_demo", "--generations", "3", stdout=out)  # no --latency-ms

    assert Provider.objects.get(id="sandbox").settings == edited
    workspace = Workspace.objects.get(slug="demo")
    assert (workspace.name, workspace.max_content_rating) == ("Our studio", "sfw")
    assert "Sandbox provider: latency 1234 ms, failure rate 50%." in out.getvalue()
    load_demo("--generations", "3")  # --latency-ms 0: that one setting changes
    assert Provider.objects.get(id="sandbox").settings == {**edited, "latency_ms": 0}


def test_the_first_load_gives_the_sandbox_the_demo_settings_by_default():
    call_command("load_demo", "--generations", "0", stdout=io.StringIO())
    settings = Provider.objects.get(id="sandbox").settings
    assert (settings["latency_ms"], settings["failure_rate"], settings["max_retries"]) == (
        400,
        0.1,
        1,
    )


def test_once_loads_the_demo_the_first_time_and_then_changes_nothing():
    first = load_demo("--once", "--generations", "3")
    assert "Loading the demo world" in first
    assert Generation.objects.count() == 3
    Generation.objects.filter(id=Generation.objects.first().id).delete()
    Provider.objects.filter(id="sandbox").update(settings={"latency_ms": 99})
    before = snapshot()

    again = load_demo("--once", "--generations", "3")

    assert snapshot() == before  # not topped up, nothing reset
    assert Provider.objects.get(id="sandbox").settings == {"latency_ms": 99}
    assert "already loaded" in again and "nothing changed" in again
    assert printed_token(again) == printed_token(first)
    assert "Demo login (local use only): demo / demo-password" in again
