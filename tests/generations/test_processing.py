"""The worker's service: claim, call the sandbox, record the attempt, finish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generations.models import Generation, ProviderAttempt
from generations.services.lifecycle import generation_transition
from generations.services.processing import generation_process
from generations.tasks import process_generation
from tests.builders import create_body, transition_body

URL = "/api/v1/generations"


def create(api, body) -> Generation:
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return Generation.objects.get(id=response.json()["id"])


def test_posting_enqueues_after_commit_and_the_task_completes_it(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(URL, create_body(), format="json")
    assert any("generation_enqueue" in c.__qualname__ for c in callbacks)  # after commit
    generation = Generation.objects.get(id=response.json()["id"])
    assert generation.status == "completed"
    assert generation.result["media_url"].startswith("data:image/svg+xml;base64,")
    assert generation.result["media_type"] == "image/svg+xml"
    assert generation.cost_usd > 0
    attempt = ProviderAttempt.objects.get(generation=generation)
    assert attempt.outcome == "succeeded"
    assert attempt.latency_ms is not None
    assert attempt.cost_usd == generation.cost_usd


def test_text_operations_return_deterministic_text(api):
    first = create(api, create_body(config={"generation_type": "dialogue", "strategy": "always"}))
    second = create(api, create_body(config={"generation_type": "dialogue", "strategy": "always"}))
    generation_process(generation_id=str(first.id))
    generation_process(generation_id=str(second.id))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.result["text"]
    assert first.result["text"] == second.result["text"]
    assert first.tokens_in > 0 and first.tokens_out > 0


def test_video_operations_return_a_clip_with_duration(api):
    generation = create(api, transition_body())
    generation_process(generation_id=str(generation.id))
    generation.refresh_from_db()
    assert generation.status == "completed"
    assert generation.result["metadata"]["kind"] == "video"
    assert generation.result["metadata"]["duration_s"] == 5.0  # duration.target


def test_second_delivery_does_nothing(api):
    generation = create(api, create_body())
    assert generation_process(generation_id=str(generation.id)).status == "completed"
    assert process_generation.apply(args=[str(generation.id)]).get() == "skipped"
    assert ProviderAttempt.objects.filter(generation=generation).count() == 1


def test_provider_failure_fails_with_a_code_and_frees_the_slot(
    api, sandbox, django_capture_on_commit_callbacks
):
    sandbox.settings = {
        "failure_rate": 1.0,
        "failure_code": "sandbox_overloaded",
        "max_retries": 0,
    }
    sandbox.save()
    generation = create(api, create_body())
    with django_capture_on_commit_callbacks(execute=True):
        assert generation_process(generation_id=str(generation.id)).status == "failed"
    generation.refresh_from_db()
    assert (generation.status, generation.error_code) == ("failed", "sandbox_overloaded")
    body = api.get(f"{URL}/{generation.id}").json()
    assert body["error"]["code"] == "sandbox_overloaded"
    assert ProviderAttempt.objects.get(generation=generation).outcome == "failed"
    sandbox.settings = {}
    sandbox.save()
    again = api.post(URL, create_body(), format="json")
    assert again.status_code == 201  # failed generations are neither deduplicated nor cached


def test_scheduled_generation_waits(api, deferred_tasks, django_capture_on_commit_callbacks):
    later = timezone.now() + timedelta(minutes=5)
    generation = create(api, create_body(scheduled_at=later.isoformat()))
    # A delivery that arrives early re-publishes the start with its countdown.
    with django_capture_on_commit_callbacks(execute=True):
        assert process_generation.apply(args=[str(generation.id)]).get() == "scheduled"
    assert deferred_tasks == [("generations.process_generation", (str(generation.id),), {})]
    outcome = generation_process(generation_id=str(generation.id))
    assert outcome.status == "scheduled"
    assert 290 < outcome.delay_s <= 300
    generation.refresh_from_db()
    assert generation.status == "pending"
    assert generation_process(generation_id=str(generation.id), now=later).status == "completed"


def test_result_after_cancel_is_discarded(api, monkeypatch):
    generation = create(api, create_body())
    from generations.providers import sandbox as sandbox_module

    real_generate = sandbox_module.SandboxAdapter.generate

    def cancel_mid_call(self, request):
        generation_transition(generation_id=generation.id, to_status="cancelled", actor="user")
        return real_generate(self, request)

    monkeypatch.setattr(sandbox_module.SandboxAdapter, "generate", cancel_mid_call)
    assert generation_process(generation_id=str(generation.id)).status == "discarded"
    generation.refresh_from_db()
    assert generation.status == "cancelled"
    assert generation.result is None
    assert ProviderAttempt.objects.get(generation=generation).outcome == "discarded"


def test_missing_generation_is_ignored(db):
    assert generation_process(generation_id="00000000-0000-0000-0000-000000000000").status == (
        "missing"
    )


@pytest.mark.parametrize("kind", ["unknown_kind"])
def test_unknown_adapter_fails_permanently(api, sandbox, kind):
    generation = create(api, create_body())
    sandbox.adapter = kind
    sandbox.save()
    assert generation_process(generation_id=str(generation.id)).status == "failed"
    generation.refresh_from_db()
    assert generation.error_code == "adapter_unavailable"


def _run_until_done(generation: Generation) -> list[str]:
    statuses, attempt = [], 1
    while True:
        status = generation_process(generation_id=str(generation.id), attempt=attempt).status
        statuses.append(status)
        if status != "retry":
            return statuses
        attempt += 1


def test_a_provider_disabled_after_queueing_is_not_called(api, sandbox):
    generation = create(api, create_body())
    sandbox.enabled = False
    sandbox.save()
    statuses = _run_until_done(generation)
    generation.refresh_from_db()
    assert (generation.status, generation.error_code) == ("failed", "provider_disabled")
    assert statuses[-1] == "failed" and set(statuses[:-1]) <= {"retry"}
    assert not ProviderAttempt.objects.filter(generation=generation).exists()


def test_a_disabled_provider_fails_over_to_its_enabled_fallback(api, sandbox):
    from generations.models import Provider

    generation = create(api, create_body())
    backup = Provider.objects.create(
        id="backup", name="Backup", adapter="sandbox", operation_types=sandbox.operation_types
    )
    sandbox.enabled, sandbox.fallback_provider = False, backup
    sandbox.save()
    assert _run_until_done(generation) == ["retry", "completed"]
    generation.refresh_from_db()
    assert (generation.provider_id, generation.failover_from) == ("backup", "sandbox")
    assert list(
        ProviderAttempt.objects.filter(generation=generation).values_list("provider_id", flat=True)
    ) == ["backup"]
