"""The circuit breaker: opens on provider faults in a window, probes once, closes again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from generations.figures import provider_report
from generations.models import Generation, Provider, ProviderAttempt, ProviderBreaker
from generations.services.breaker import (
    breaker_admit,
    breaker_record,
    breaker_reset,
    breaker_view,
)
from generations.services.processing import generation_process
from tests.builders import create_body

URL = "/api/v1/generations"


def _fault(provider: Provider, at: Any, *, fault: bool = True, probe: bool = False) -> None:
    breaker_record(provider=provider, succeeded=False, provider_fault=fault, probe=probe, now=at)


def _ok(provider: Provider, at: Any, *, probe: bool = False) -> None:
    breaker_record(provider=provider, succeeded=True, provider_fault=False, probe=probe, now=at)


def _state(provider: Provider) -> str:
    return ProviderBreaker.objects.get(provider=provider).state


def test_five_provider_faults_in_a_row_open_it_until_the_cooldown(sandbox):
    now = timezone.now()
    for i in range(4):
        _fault(sandbox, now + timedelta(seconds=i))
    assert _state(sandbox) == "closed"
    _fault(sandbox, now + timedelta(seconds=4))
    row = ProviderBreaker.objects.get(provider=sandbox)
    assert (row.state, row.reason) == ("open", "5 consecutive failures")
    assert row.open_until == now + timedelta(seconds=4 + sandbox.breaker_cooldown_s)
    refused = breaker_admit(provider=sandbox, now=now + timedelta(seconds=10))
    assert (refused.allowed, refused.retry_at) == (False, row.open_until)


def test_faults_further_apart_than_the_window_never_add_up(sandbox, settings):
    settings.GENPIPE_BREAKER_WINDOW_S = 60
    now = timezone.now()
    for i in range(20):
        _fault(sandbox, now + timedelta(seconds=61 * i))
    assert _state(sandbox) == "closed"
    assert breaker_view(provider=sandbox, now=now + timedelta(seconds=61 * 19)).state == "closed"


def test_a_low_success_rate_in_the_window_opens_it(sandbox):
    now = timezone.now()
    for i in range(10):  # ok, fail, ok, fail... : never 5 in a row, 40 % success
        at = now + timedelta(seconds=i)
        if i % 5 in (0, 3):
            _ok(sandbox, at)
        else:
            _fault(sandbox, at)
    row = ProviderBreaker.objects.get(provider=sandbox)
    assert row.state == "open"
    assert row.reason.startswith("6 of 10 calls failed in 60 s")


def test_the_request_own_faults_never_count(sandbox):
    now = timezone.now()
    for i in range(50):
        _fault(sandbox, now + timedelta(seconds=i), fault=False)
    view = breaker_view(provider=sandbox, now=now + timedelta(seconds=50))
    assert (view.state, view.consecutive_failures, view.window_calls) == ("closed", 0, 0)


def test_after_the_cooldown_exactly_one_probe_goes_and_its_success_closes(sandbox):
    now = timezone.now()
    for _ in range(5):
        _fault(sandbox, now)
    later = now + timedelta(seconds=sandbox.breaker_cooldown_s)
    first = breaker_admit(provider=sandbox, now=later)
    second = breaker_admit(provider=sandbox, now=later)
    assert (first.allowed, first.probe) == (True, True)
    assert (second.allowed, second.probe) == (False, False)
    assert _state(sandbox) == "half_open"
    _ok(sandbox, later, probe=True)
    row = ProviderBreaker.objects.get(provider=sandbox)
    assert (row.state, row.failed_probes, row.consecutive_failures) == ("closed", 0, 0)
    assert breaker_admit(provider=sandbox, now=later).allowed


def test_a_failed_probe_doubles_the_cooldown_up_to_the_cap(sandbox, settings):
    settings.GENPIPE_BREAKER_COOLDOWN_CAP_S = 100
    now = timezone.now()
    for _ in range(5):
        _fault(sandbox, now)
    at = now
    waits = []
    for _ in range(4):
        at = ProviderBreaker.objects.get(provider=sandbox).open_until
        assert breaker_admit(provider=sandbox, now=at).probe
        _fault(sandbox, at, probe=True)
        waits.append((ProviderBreaker.objects.get(provider=sandbox).open_until - at).seconds)
    assert waits == [60, 100, 100, 100]  # 30 s base, doubled, capped
    assert _state(sandbox) == "open"


def test_a_probe_whose_worker_died_is_taken_over(sandbox):
    now = timezone.now()
    for _ in range(5):
        _fault(sandbox, now)
    due = now + timedelta(seconds=sandbox.breaker_cooldown_s)
    assert breaker_admit(provider=sandbox, now=due).probe
    stale = due + timedelta(seconds=sandbox.read_timeout_s + 31)
    assert breaker_admit(provider=sandbox, now=stale).probe


def test_reset_closes_it_by_hand(sandbox):
    now = timezone.now()
    for _ in range(5):
        _fault(sandbox, now)
    assert breaker_reset(provider=sandbox, now=now) is True
    assert _state(sandbox) == "closed"
    assert breaker_reset(provider=sandbox, now=now) is False


def _create(api: Any, prompt: str, **config: Any) -> str:
    body = create_body(config={"prompt": prompt, "strategy": "always", **config})
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_storm_then_recovery_closes_it_with_no_operator(api, sandbox):
    """The fault campaign's F1: the provider is healthy again after cool-down + one probe."""
    sandbox.settings = {"failure_rate": 1.0, "max_retries": 0}
    sandbox.save()
    for i in range(5):
        generation_process(generation_id=_create(api, f"storm {i}"))
    assert provider_report(sandbox)["health"]["state"] == "down"
    refused = _create(api, "refused", fallback={"mode": "retry", "max_retries": 2})
    outcome = generation_process(generation_id=refused)
    assert outcome.status == "retry" and outcome.delay_s >= sandbox.breaker_cooldown_s - 1
    assert not ProviderAttempt.objects.filter(generation_id=refused).exists()

    sandbox.settings = {"failure_rate": 0.0}
    sandbox.save()
    due = timezone.now() + timedelta(seconds=sandbox.breaker_cooldown_s + 1)
    assert generation_process(generation_id=refused, attempt=2, now=due).status == "completed"
    report = provider_report(Provider.objects.get(id="sandbox"), now=due)
    assert (report["breaker"]["state"], report["health"]["state"]) == ("closed", "healthy")
    assert generation_process(generation_id=_create(api, "after")).status == "completed"


def test_one_workspace_invalid_requests_never_take_the_provider_down(api, other_api, sandbox):
    """The fault campaign's F2: requests the provider rejects fail alone."""
    sandbox.settings = {"reject_marker": "FORBIDDEN"}
    sandbox.save()
    for i in range(12):
        rejected = _create(other_api, f"FORBIDDEN {i}")
        assert generation_process(generation_id=rejected).status == "failed"
        assert Generation.objects.get(id=rejected).error_code == "provider_invalid_request"
    report = provider_report(sandbox)
    assert (report["breaker"]["state"], report["health"]["state"]) == ("closed", "healthy")
    for i in range(3):
        assert generation_process(generation_id=_create(api, f"valid {i}")).status == "completed"


@pytest.mark.parametrize("failures", [5])
def test_while_open_a_generation_fails_over_to_its_fallback(api, sandbox, failures):
    backup = Provider.objects.create(
        id="backup", name="Backup", adapter="sandbox", operation_types=sandbox.operation_types
    )
    sandbox.fallback_provider = backup
    sandbox.save()
    now = timezone.now()
    for _ in range(failures):
        _fault(sandbox, now)
    generation_id = _create(api, "needs a provider")
    assert generation_process(generation_id=generation_id).status == "retry"
    assert generation_process(generation_id=generation_id, attempt=2).status == "completed"
    generation = Generation.objects.get(id=generation_id)
    assert (generation.provider_id, generation.failover_from) == ("backup", "sandbox")
