"""Real HTTP against local servers speaking the OpenAI-compatible and job protocols."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from generations.models import Generation, GenerationEvent, Provider, ProviderAttempt
from generations.providers.base import ProviderConfig, ProviderRequest
from generations.providers.client import ProviderClient
from generations.services.jobs import generation_poll
from generations.services.processing import backoff_s, generation_process
from tests.builders import create_body
from tests.fakes.server import Drop, Garbage, Hang, Huge, Redirect, Status

URL = "/api/v1/generations"
TEXT = ["dialogue", "npc_response", "text_to_image"]


def provider(pid: str, server, *, adapter="openai_compatible", ops=None, **fields) -> Provider:
    return Provider.objects.create(
        id=pid,
        name=pid,
        adapter=adapter,
        base_url=server.url,
        operation_types=ops or TEXT,
        connect_timeout_s=1.0,
        read_timeout_s=fields.pop("read_timeout_s", 2.0),
        price_per_1k_input_tokens=Decimal("0.5"),
        price_per_1k_output_tokens=Decimal("1.5"),
        price_per_image=Decimal("0.04"),
        **fields,
    )


def dialogue(api, provider_id: str, **config) -> dict:
    body = create_body(
        config={
            "generation_type": "dialogue",
            "prompt": "greet the hero",
            "strategy": "always",
            **config,
        },
        provider_id=provider_id,
    )
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_chat_completion_records_tokens_and_cost(api, openai_server):
    provider("oai", openai_server)
    generation = Generation.objects.get(id=dialogue(api, "oai")["id"])
    generation_process(generation_id=str(generation.id))
    generation.refresh_from_db()
    assert generation.status == "completed"
    assert generation.result["text"] == "Echo: greet the hero"
    sent = openai_server.requests_for("POST /v1/chat/completions")[0].json
    assert sent["messages"][-1] == {"role": "user", "content": "greet the hero"}
    assert generation.tokens_in > 0 and generation.tokens_out > 0
    assert generation.cost_usd > 0


def test_image_generation_stores_the_url(api, openai_server):
    provider("oai", openai_server)
    body = create_body(provider_id="oai", config={"prompt": "a red fox", "strategy": "always"})
    generation_id = api.post(URL, body, format="json").json()["id"]
    generation_process(generation_id=generation_id)
    generation = Generation.objects.get(id=generation_id)
    assert generation.result["media_url"].startswith(openai_server.url + "/files/")
    assert generation.cost_usd == Decimal("0.040000")


def test_transient_failures_then_success_complete_with_every_attempt_recorded(
    api, openai_server, django_capture_on_commit_callbacks
):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", Status(503), Status(429))
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = dialogue(api, "oai", fallback={"mode": "retry", "max_retries": 3})["id"]
    generation = Generation.objects.get(id=generation_id)
    assert generation.status == "completed"
    outcomes = list(
        ProviderAttempt.objects.filter(generation=generation).values_list(
            "attempt_number", "outcome", "error_code"
        )
    )
    assert outcomes == [
        (1, "failed", "provider_server_error"),
        (2, "failed", "provider_rate_limited"),
        (3, "succeeded", ""),
    ]
    assert openai_server.count("POST /v1/chat/completions") == 3


def test_retry_after_is_honoured_and_backoff_grows():
    assert backoff_s(1, retry_after=7) >= 7
    assert all(0 <= backoff_s(1) <= 2 for _ in range(50))
    assert max(backoff_s(5) for _ in range(200)) > 2
    assert all(backoff_s(50) <= 300 for _ in range(50))


def test_429_schedules_the_retry_after_the_providers_retry_after(api, openai_server):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", Status(429, headers={"Retry-After": "7"}))
    generation_id = dialogue(api, "oai")["id"]
    outcome = generation_process(generation_id=generation_id)
    assert (outcome.status, outcome.next_attempt) == ("retry", 2)
    assert outcome.delay_s >= 7


def test_retry_never_double_fires(api, openai_server):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", Status(503))
    generation_id = dialogue(api, "oai")["id"]
    assert generation_process(generation_id=generation_id).status == "retry"
    assert generation_process(generation_id=generation_id, attempt=2).status == "completed"
    assert generation_process(generation_id=generation_id, attempt=2).status == "skipped"
    assert generation_process(generation_id=generation_id).status == "skipped"
    assert openai_server.count("POST /v1/chat/completions") == 2


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (Status(400), "provider_invalid_request"),
        (Status(401), "provider_auth_failed"),
        (
            Status(400, {"error": {"message": "blocked", "code": "content_policy_violation"}}),
            "provider_content_rejected",
        ),
        (Status(404), "provider_not_found"),
        (Redirect("http://elsewhere.example/"), "provider_redirect"),
        (Huge(9 * 1024 * 1024), "provider_response_too_large"),
    ],
)
def test_permanent_errors_fail_after_one_call_with_a_stable_code(
    api, openai_server, django_capture_on_commit_callbacks, behaviour, code
):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", behaviour)
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = dialogue(api, "oai", fallback={"mode": "retry", "max_retries": 3})["id"]
    generation = Generation.objects.get(id=generation_id)
    assert (generation.status, generation.error_code) == ("failed", code)
    assert openai_server.count("POST /v1/chat/completions") == 1


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [(Garbage(), "provider_bad_response"), (Drop(), "provider_unreachable")],
)
def test_broken_answers_are_transient(api, openai_server, behaviour, code):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", behaviour)
    outcome = generation_process(generation_id=dialogue(api, "oai")["id"])
    assert outcome.status == "retry"
    assert ProviderAttempt.objects.get().error_code == code


def test_hung_provider_fails_by_timeout_and_frees_the_worker(api, openai_server):
    provider("oai", openai_server, read_timeout_s=0.3, settings={"max_retries": 0})
    openai_server.script("POST /v1/chat/completions", Hang(10))
    generation_id = dialogue(api, "oai")["id"]
    started = time.monotonic()
    assert generation_process(generation_id=generation_id).status == "failed"
    assert time.monotonic() - started < 3
    assert Generation.objects.get(id=generation_id).error_code == "provider_timeout"


def test_node_timeout_bounds_the_call(api, openai_server):
    provider("oai", openai_server, read_timeout_s=30, settings={"max_retries": 0})
    openai_server.script("POST /v1/chat/completions", Hang(10))
    generation_id = dialogue(api, "oai", fallback={"mode": "skip", "timeout_ms": 1000})["id"]
    started = time.monotonic()
    generation_process(generation_id=generation_id)
    assert 0.9 < time.monotonic() - started < 4
    assert ProviderAttempt.objects.get().request_summary["timeout_s"] == 1.0


def test_credential_comes_from_the_named_env_var_and_is_never_stored(
    api, make_openai_server, monkeypatch
):
    server = make_openai_server(api_key="sk-test-123")
    provider("oai", server, credential_env_var="GENPIPE_TEST_OAI_KEY")
    missing = dialogue(api, "oai")["id"]
    assert generation_process(generation_id=missing).status == "failed"
    assert Generation.objects.get(id=missing).error_code == "provider_credential_missing"
    monkeypatch.setenv("GENPIPE_TEST_OAI_KEY", "sk-test-123")
    ok = dialogue(api, "oai", prompt="again")["id"]
    assert generation_process(generation_id=ok).status == "completed"
    assert server.requests[-1].header("Authorization") == "Bearer sk-test-123"
    stored = [str(v) for row in ProviderAttempt.objects.values() for v in row.values()]
    stored += [str(v) for row in Generation.objects.values() for v in row.values()]
    assert not any("sk-test-123" in value for value in stored)


def test_429_storm_opens_the_breaker_and_fails_over(
    api, openai_server, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""  # health from the database, deterministic
    sandbox.operation_types = TEXT
    sandbox.save()
    provider("oai", openai_server, fallback_provider=sandbox, settings={"max_retries": 0})
    openai_server.script("POST /v1/chat/completions", *[Status(429)] * 50)
    ids = []
    for i in range(8):
        with django_capture_on_commit_callbacks(execute=True):
            ids.append(dialogue(api, "oai", prompt=f"line {i}")["id"])
    generations = Generation.objects.filter(id__in=ids)
    assert {(g.status, g.provider_id, g.failover_from) for g in generations} == {
        ("completed", "sandbox", "oai")
    }
    # five failures open the breaker (down_consecutive_failures = 5): no calls after that
    assert openai_server.count("POST /v1/chat/completions") == 5
    assert GenerationEvent.objects.filter(reason__startswith="failover oai → sandbox").count() == 8
    body = api.get(f"{URL}/{ids[-1]}").json()
    assert (body["provider_id"], body["failover_from"]) == ("sandbox", "oai")


def test_failover_needs_an_enabled_fallback_that_supports_the_operation(
    api, openai_server, sandbox, django_capture_on_commit_callbacks
):
    sandbox.operation_types = ["text_to_image"]
    sandbox.save()
    provider("oai", openai_server, fallback_provider=sandbox, settings={"max_retries": 0})
    openai_server.script("POST /v1/chat/completions", Status(503))
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = dialogue(api, "oai")["id"]
    generation = Generation.objects.get(id=generation_id)
    assert (generation.status, generation.provider_id) == ("failed", "oai")


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        ({"mode": "skip"}, {"mode": "skip"}),
        (
            {"mode": "default_content", "default_content_id": "idle-loop"},
            {"mode": "default_content", "default_content_id": "idle-loop"},
        ),
        (
            {"mode": "placeholder"},
            {
                "mode": "placeholder",
                "placeholder": {"operation_type": "dialogue", "reason": "provider_invalid_request"},
            },
        ),
    ],
)
def test_fallback_mode_is_offered_to_the_client(
    api, openai_server, django_capture_on_commit_callbacks, fallback, expected
):
    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", Status(400))
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = dialogue(api, "oai", fallback=fallback)["id"]
    body = api.get(f"{URL}/{generation_id}").json()
    assert body["status"] == "failed"
    assert body["fallback"] == expected


# --- asynchronous jobs ---------------------------------------------------------------------


def video(api, provider_id: str, **config) -> str:
    body = create_body(
        provider_id=provider_id,
        config={
            "generation_type": "image_to_video",
            "strategy": "always",
            "prompt": "waves",
            "image_url": "https://cdn.example.com/shore.png",
            **config,
        },
    )
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_async_job_is_submitted_then_polled_to_completion(
    api, jobs_server, django_capture_on_commit_callbacks
):
    provider(
        "jobs",
        jobs_server,
        adapter="async_job",
        ops=["image_to_video"],
        settings={"model": "acme/video-1"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = video(api, "jobs")
    generation = Generation.objects.get(id=generation_id)
    assert generation.status == "completed"
    job_id = ProviderAttempt.objects.get(generation=generation).provider_job_id
    assert generation.result["media_url"] == jobs_server.output_url(job_id)
    submitted = jobs_server.requests_for("POST /v1/predictions")[0].json
    assert submitted["model"] == "acme/video-1"
    assert submitted["input"]["image"] == "https://cdn.example.com/shore.png"
    assert jobs_server.count("GET /v1/predictions/*") >= 2


def test_cancelled_job_is_cancelled_at_the_provider_and_a_late_result_discarded(
    api, make_jobs_server, django_capture_on_commit_callbacks
):
    server = make_jobs_server(polls_to_finish=None)
    provider("jobs", server, adapter="async_job", ops=["image_to_video"])
    generation_id = video(api, "jobs")
    assert generation_process(generation_id=generation_id).status == "submitted"
    job_id = ProviderAttempt.objects.get(generation_id=generation_id).provider_job_id
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{URL}/{generation_id}/cancel").status_code == 200
    assert server.cancels == [job_id]
    server.finish(job_id, status="succeeded")
    assert generation_poll(generation_id=generation_id, attempt=1).status == "discarded"
    generation = Generation.objects.get(id=generation_id)
    assert (generation.status, generation.result) == ("cancelled", None)
    assert ProviderAttempt.objects.get(generation_id=generation_id).outcome == "discarded"


def test_failed_job_is_retried_then_fails(
    api, make_jobs_server, django_capture_on_commit_callbacks
):
    server = make_jobs_server(fail_next_jobs=5)
    provider(
        "jobs", server, adapter="async_job", ops=["image_to_video"], settings={"max_retries": 1}
    )
    with django_capture_on_commit_callbacks(execute=True):
        generation_id = video(api, "jobs")
    generation = Generation.objects.get(id=generation_id)
    assert (generation.status, generation.error_code) == ("failed", "provider_job_failed")
    assert ProviderAttempt.objects.filter(generation=generation).count() == 2


def test_job_past_its_deadline_is_cancelled_and_timed_out(api, make_jobs_server):
    server = make_jobs_server(polls_to_finish=None)
    provider(
        "jobs",
        server,
        adapter="async_job",
        ops=["image_to_video"],
        read_timeout_s=1,
        settings={"max_retries": 0},
    )
    generation_id = video(api, "jobs")
    generation_process(generation_id=generation_id)
    job_id = ProviderAttempt.objects.get(generation_id=generation_id).provider_job_id
    later = ProviderAttempt.objects.get().started_at + __import__("datetime").timedelta(seconds=5)
    assert generation_poll(generation_id=generation_id, attempt=1, now=later).status == "failed"
    assert server.cancels == [job_id]
    assert Generation.objects.get(id=generation_id).error_code == "provider_timeout"


def test_client_maps_connection_refused_to_transient():
    config = ProviderConfig(
        id="x",
        adapter="openai_compatible",
        base_url="http://127.0.0.1:1",
        connect_timeout_s=0.5,
        read_timeout_s=0.5,
    )
    from generations.providers.base import ProviderTransientError

    with pytest.raises(ProviderTransientError) as info:
        ProviderClient(config).request("GET", "v1/models")
    assert info.value.code == "provider_unreachable"
    assert ProviderRequest  # the request type is part of the adapter interface


def test_a_long_retry_after_is_recorded_as_the_due_time_and_survives_a_sweep(api, openai_server):
    from datetime import timedelta

    from django.utils import timezone

    from generations.services.sweeper import generations_sweep

    provider("oai", openai_server)
    openai_server.script("POST /v1/chat/completions", Status(429, headers={"Retry-After": "200"}))
    generation_id = dialogue(api, "oai")["id"]
    before = timezone.now()
    outcome = generation_process(generation_id=generation_id)
    assert (outcome.status, outcome.next_attempt) == ("retry", 2)
    generation = Generation.objects.get(id=generation_id)
    assert generation.next_attempt_at >= before + timedelta(seconds=200)
    assert generation.deadline_at > generation.next_attempt_at
    swept = generations_sweep(
        now=before + timedelta(seconds=150),
        pending_after=timedelta(0),
        processing_after=timedelta(seconds=1),
    )
    assert (swept.recovered, swept.failed, swept.requeued) == ([], [], [])
    assert Generation.objects.get(id=generation_id).status == "processing"
    later = generation.next_attempt_at
    assert generation_process(generation_id=generation_id, attempt=2, now=later).status == (
        "completed"
    )
