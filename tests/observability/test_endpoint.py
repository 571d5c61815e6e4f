"""``/metrics`` in one process: who may scrape, what the families look like, and that the
hooks feed the counters (tasks run inline here; tests/observability/test_stack.py runs the
real gunicorn + worker stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from observability.metrics import DURATION_BUCKETS, TOKEN_BUCKETS
from tests.builders import create_body

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/generations"
BEARER = "metrics-bearer-for-tests-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.GENPIPE_METRICS_TOKEN = BEARER
    return BEARER


def scrape(client: APIClient, **headers: str) -> dict[str, object]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def value(families, name: str, suffix: str = "", **labels: str) -> float:
    family = families.get(name)
    if family is None:
        return 0.0
    return sum(
        s.value
        for s in family.samples
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "not_authenticated"),
        ({"HTTP_AUTHORIZATION": "Bearer wrong"}, 401, "authentication_failed"),
        ({"HTTP_AUTHORIZATION": "Bearer"}, 401, "authentication_failed"),
        ({"HTTP_AUTHORIZATION": "Token not-a-token"}, 401, "authentication_failed"),
    ],
)
def test_unauthenticated_scrapes_get_the_json_envelope(metrics_token, headers, status, code):
    response = APIClient().get("/metrics", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert BEARER not in response.content.decode()


@pytest.mark.django_db
def test_without_a_configured_bearer_no_bearer_is_accepted(settings):
    settings.GENPIPE_METRICS_TOKEN = ""
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_member_who_is_not_staff_is_forbidden(api):
    response = api.get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_token_and_bearer_may_scrape(metrics_token, django_user_model, sandbox):
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    key = Token.objects.create(user=staff).key
    by_token = scrape(APIClient(), HTTP_AUTHORIZATION=f"Token {key}")
    by_bearer = scrape(APIClient(), HTTP_AUTHORIZATION=f"Bearer {BEARER}")
    for families in (by_token, by_bearer):
        assert value(families, "genpipe_provider_breaker_state", state="closed") >= 1
        assert "genpipe_queue_oldest_pending_age_seconds" in families


def test_hooks_feed_the_counters_and_histograms(
    api, sandbox, metrics_token, django_capture_on_commit_callbacks
):
    """Deltas (the process's registry outlives a test): one miss then one cache hit, one
    provider call with its duration, tokens and cost, and the statuses it went through."""
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {BEARER}"}
    labels = {"gen_ai_provider_name": "sandbox", "gen_ai_operation_name": "dialogue"}
    before = scrape(APIClient(), **bearer)
    body = create_body(config={"generation_type": "dialogue", "prompt": "hooks feed metrics"})
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, body, format="json")
    again = api.post(URL, body, format="json")
    assert first.status_code == 201 and again.status_code == 200
    after = scrape(APIClient(), **bearer)

    def delta(name: str, suffix: str = "", **extra: str) -> float:
        return value(after, name, suffix, **extra) - value(before, name, suffix, **extra)

    op = {"gen_ai_operation_name": "dialogue"}
    assert delta("genpipe_cache_lookups", "_total", outcome="miss", **op) == 1
    assert delta("genpipe_cache_lookups", "_total", outcome="dedup", **op) == 1
    for status in ("pending", "processing", "completed"):
        assert delta("genpipe_generations", "_total", status=status, **labels) == 1
    duration = "gen_ai_client_operation_duration_seconds"
    assert delta(duration, "_count", error_type="", **labels) == 1
    assert after[duration].type == "histogram"
    bounds = sorted(
        {float(s.labels["le"]) for s in after[duration].samples if s.name.endswith("_bucket")}
    )
    assert bounds == [*DURATION_BUCKETS, float("inf")]
    usage = "gen_ai_client_token_usage"
    generation = api.get(f"{URL}/{first.json()['id']}").json()
    tokens_in, tokens_out = generation["tokens_in"], generation["tokens_out"]
    assert tokens_in > 0 and tokens_out > 0
    assert delta(usage, "_sum", gen_ai_token_type="input", **labels) == tokens_in
    assert delta(usage, "_sum", gen_ai_token_type="output", **labels) == tokens_out
    bounds = sorted(
        {float(s.labels["le"]) for s in after[usage].samples if s.name.endswith("_bucket")}
    )
    assert bounds == [*map(float, TOKEN_BUCKETS), float("inf")]
    cost = delta("genpipe_provider_cost_usd", "_total", **labels)
    assert cost == pytest.approx(float(generation["cost_usd"]), abs=1e-9)
    assert cost > 0


def test_failed_calls_carry_their_error_type(
    api, sandbox, metrics_token, django_capture_on_commit_callbacks
):
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy", "max_retries": 0}
    sandbox.save()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {BEARER}"}
    labels = {"gen_ai_provider_name": "sandbox", "gen_ai_operation_name": "text_to_image"}
    name, suffix = "gen_ai_client_operation_duration_seconds", "_count"
    before = value(scrape(APIClient(), **bearer), name, suffix, error_type="sandbox_busy", **labels)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, create_body(config={"prompt": "fails"}), format="json")
    assert api.get(f"{URL}/{response.json()['id']}").json()["status"] == "failed"
    after = scrape(APIClient(), **bearer)
    assert value(after, name, suffix, error_type="sandbox_busy", **labels) == before + 1
    assert value(after, "genpipe_generations", "_total", status="failed", **labels) >= 1


def test_tracing_off_imports_no_opentelemetry():
    """No OTLP endpoint: setting Django up and answering a request loads none of the
    tracing code (SDK tracer, exporter, instrumentation) and adds no middleware. (redis-py
    looks for OpenTelemetry's metrics SDK itself when it is installed; that is redis-py's.)"""
    code = (
        "import django, sys; django.setup();"
        "from django.conf import settings;"
        "from observability import tracing, listeners;"
        "assert not tracing.tracing_setup();"
        "from django.test import Client; Client().get('/healthz');"
        "prefixes = ('opentelemetry.sdk.trace', 'opentelemetry.exporter',"
        " 'opentelemetry.instrumentation', 'opentelemetry.propagate');"
        "bad = sorted(m for m in sys.modules if m.startswith(prefixes));"
        "bad += [m for m in settings.MIDDLEWARE if 'opentelemetry' in m];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if not k.startswith("OTEL_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["DJANGO_SETTINGS_MODULE"] = "genpipe_site.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
