"""provider_health: a table (or JSON) of every provider; exit 2 when an enabled one is down."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from generations.management.commands.provider_health import COLUMNS
from generations.models import Generation, Provider, ProviderAttempt
from generations.services.breaker import breaker_record
from telemetry.recording import telemetry_record_attempt
from tests.builders import create_body
from tests.embedded import embedded_site


@pytest.fixture
def database_telemetry(settings: Any) -> None:
    """Figures from the database (no REDIS_URL), whatever the environment."""
    settings.REDIS_URL = ""


def _fail(api: Any, count: int, code: str = "provider_timeout") -> None:
    """``count`` failed provider attempts in the last minutes, newest last, each fed to the
    circuit breaker as the worker does."""
    response = api.post("/api/v1/generations", create_body(), format="json")
    generation = Generation.objects.get(id=response.json()["id"])
    now = timezone.now()
    for i in range(count):
        at = now - timedelta(seconds=count - i)
        ProviderAttempt.objects.create(
            generation=generation,
            provider_id="sandbox",
            attempt_number=i + 1,
            operation_type=generation.operation_type,
            started_at=at - timedelta(seconds=2),
            finished_at=at,
            latency_ms=2000,
            outcome=ProviderAttempt.Outcome.FAILED,
            error_code=code,
            error_message="read timed out",
        )
        breaker_record(
            provider=Provider.objects.get(id="sandbox"),
            succeeded=False,
            provider_fault=True,
            probe=False,
            now=at,
        )


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def _run(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("provider_health", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue() + f"\n{exc}", exc.returncode
    return out.getvalue(), 0


def test_healthy_providers_exit_zero_with_a_table(sandbox, database_telemetry):
    output, code = _run()
    assert code == 0
    header, row = output.splitlines()[:2]
    assert _cells(header) == list(COLUMNS)
    assert _cells(row) == ["sandbox", "yes", "healthy", "closed", "0", "-", "-", "0", "-"]
    assert "Figures from: database." in output


def test_an_enabled_provider_down_exits_two(api, database_telemetry):
    _fail(api, 5)
    output, code = _run()
    assert code == 2
    row = next(line for line in output.splitlines() if line.startswith("sandbox"))
    cells = _cells(row)
    assert re.fullmatch(r"open until \d\d:\d\d:\d\d", cells[3])
    assert cells[:3] + cells[4:] == [
        *("sandbox", "yes", "down"),
        *("5", "0.0%", "-", "5", "provider_timeout (5)"),
    ]
    assert "sandbox: circuit open: 5 consecutive failures" in output
    assert "1 enabled provider(s) down: sandbox" in output


def test_a_disabled_provider_down_alerts_nobody(api, sandbox, database_telemetry):
    _fail(api, 5)
    sandbox.enabled = False
    sandbox.save()
    output, code = _run()
    assert code == 0
    assert "down" in next(line for line in output.splitlines() if line.startswith("sandbox"))


def test_degraded_is_not_down(api, database_telemetry):
    _fail(api, 3)
    output, code = _run()
    assert code == 0
    assert " degraded " in output


def test_json_output_has_the_full_reports(api, database_telemetry):
    _fail(api, 6, code="rate_limited")
    output, code = _run("--json")
    assert code == 2
    payload = json.loads(output.split("\n1 enabled provider(s) down")[0])
    assert payload["down"] == ["sandbox"]
    (report,) = payload["providers"]
    assert report["health"]["state"] == "down"
    assert report["breaker"]["state"] == "open"
    assert report["last_1h"]["attempt_failures"] == 6
    assert report["top_errors"][0]["error_type"] == "rate_limited"


@pytest.mark.redis
def test_down_from_the_redis_aggregates(sandbox, telemetry_redis):
    now = timezone.now()
    for i in range(5):
        telemetry_record_attempt(
            provider_id="sandbox",
            operation_type="dialogue",
            succeeded=False,
            error_code="provider_5xx",
            at=now - timedelta(seconds=10 - i),
        )
        breaker_record(provider=sandbox, succeeded=False, provider_fault=True, probe=False, now=now)
    output, code = _run()
    assert code == 2
    assert "Figures from: redis." in output
    assert "provider_5xx (5)" in output


def test_provider_health_as_a_subprocess_on_the_embedded_default(tmp_path):
    site = embedded_site(tmp_path)
    healthy = site.manage("provider_health")
    assert healthy.returncode == 0, healthy.stderr
    assert "sandbox" in healthy.stdout and "healthy" in healthy.stdout
    site.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from generations.models import Generation, ProviderAttempt, Workspace\n"
        "from generations.services.breaker import breaker_record\n"
        "ws = Workspace.objects.create(slug='ops', name='Ops')\n"
        "g = Generation.objects.create(workspace=ws, provider_id='sandbox', operation_type="
        "'dialogue', purpose='adaptive', strategy='always', reproducible_hash='x' * 64)\n"
        "now = timezone.now()\n"
        "for i in range(5):\n"
        "    ProviderAttempt.objects.create(generation=g, provider_id='sandbox',\n"
        "        attempt_number=i + 1, operation_type='dialogue', started_at=now,\n"
        "        finished_at=now - timedelta(seconds=30 - i), outcome='failed',\n"
        "        error_code='provider_timeout')\n"
        "    breaker_record(provider=g.provider, succeeded=False, provider_fault=True,\n"
        "        probe=False, now=now)\n"
    )
    down = site.manage("provider_health", "--json")
    assert down.returncode == 2
    assert json.loads(down.stdout)["down"] == ["sandbox"]
    assert "enabled provider(s) down: sandbox" in down.stderr


def test_reset_closes_an_open_breaker_and_the_provider_is_healthy_again(api, database_telemetry):
    _fail(api, 5)
    assert _run()[1] == 2
    out, err = io.StringIO(), io.StringIO()
    call_command("provider_health", "--reset", "sandbox", stdout=out, stderr=err)
    assert "sandbox: circuit breaker closed (it was open)." in err.getvalue()
    row = next(line for line in out.getvalue().splitlines() if line.startswith("sandbox"))
    assert _cells(row)[2:4] == ["healthy", "closed"]
    with pytest.raises(CommandError):
        call_command("provider_health", "--reset", "nope", stdout=io.StringIO())
