"""A provider that echoes its API key in errors: the key is never stored or shown.

Real HTTP against the local fakes, scripted to echo the ``Authorization`` header, the bare
key or every request header in 401, 400 and 500 bodies, in a job's error, and in a 200
answer the adapter chokes on. Then every surface is searched for the key: the API as an
ordinary member, the staff telemetry API (Redis and database), the rows, the telemetry
Redis, the admin pages and the logs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.logs import ContextFilter, JsonFormatter, RedactFilter
from generations.models import (
    Generation,
    GenerationEvent,
    Provider,
    ProviderAttempt,
    WorkspaceMembership,
)
from generations.providers.base import ProviderConfig, ProviderPermanentError
from generations.providers.client import ProviderClient
from telemetry import keys as telemetry_keys
from telemetry.recording import telemetry_record_attempt
from tests.builders import create_body
from tests.fakes.server import Echo, Status

URL = "/api/v1/generations"
SK_KEY = "sk-genpipeFAKE0123456789abcdefSECRET"
PLAIN_KEY = "plain-secret-value-7f3a9b2c"
KEYS = (SK_KEY, PLAIN_KEY)
# Env var names on purpose not all secret-looking (``*_CRED``): the client must know.
ENV = {
    "oai-sk": ("GENPIPE_SECRETS_TEST_OAI_API_KEY", SK_KEY),
    "oai-plain": ("GENPIPE_SECRETS_TEST_OAI_CRED", PLAIN_KEY),
    "jobs-plain": ("GENPIPE_SECRETS_TEST_JOBS_CRED", PLAIN_KEY),
}
CHAT = "POST /v1/chat/completions"


def leaks(text: str) -> list[str]:
    """The keys found in ``text`` (also their tail: a cut must not leave half a key)."""
    return [key for key in KEYS if key in text or key[-14:] in text]


@dataclass
class Echoed:
    ids: dict[str, str]  # what the provider did -> generation id
    member: APIClient


def _provider(pid: str, server, *, adapter: str = "openai_compatible", ops=None) -> Provider:
    return Provider.objects.create(
        id=pid,
        name=pid,
        adapter=adapter,
        base_url=server.url,
        credential_env_var=ENV[pid][0],
        operation_types=ops or ["dialogue"],
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
        settings={"max_retries": 0, "poll_interval_s": 0.01},
        price_per_1k_input_tokens=Decimal("0.5"),
        price_per_video_second=Decimal("0.05"),
    )


def _create(api: APIClient, provider_id: str, config: dict, capture) -> str:
    with capture(execute=True):
        response = api.post(URL, create_body(provider_id=provider_id, config=config), format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def run_echoing_generations(
    api, user, workspace, monkeypatch, make_openai_server, make_jobs_server, capture
) -> Echoed:
    for name, value in ENV.values():
        monkeypatch.setenv(name, value)
    crash_body = {  # a 200 the adapter cannot read: the crash message quotes the value
        "id": "chatcmpl-1",
        "choices": [{"message": {"content": "hi"}}],
    }
    ids: dict[str, str] = {}
    for pid, key in (("oai-sk", SK_KEY), ("oai-plain", PLAIN_KEY)):
        server = make_openai_server(api_key=key)
        _provider(pid, server)
        server.script(
            CHAT,
            Echo(401, "authorization"),
            Echo(400, "key"),
            Echo(500, "headers"),
            Status(200, body={**crash_body, "usage": {"prompt_tokens": key}}),
        )
        dialogue = {"generation_type": "dialogue", "strategy": "always"}
        for what in ("401", "400", "500", "crash"):
            ids[f"{pid}-{what}"] = _create(
                api, pid, {**dialogue, "prompt": f"greet the hero {what}"}, capture
            )
        assert server.pending(CHAT) == 0  # every echo was served (no circuit short-cut)
    jobs = make_jobs_server(
        api_key=PLAIN_KEY,
        polls_to_finish=1,
        fail_next_jobs=1,
        fail_error="GPU worker lost while running with {authorization}",
    )
    _provider("jobs-plain", jobs, adapter="async_job", ops=["image_to_video"])
    video = {
        "generation_type": "image_to_video",
        "strategy": "always",
        "image_url": "https://cdn.example.com/shore.png",
    }
    ids["jobs-failed"] = _create(api, "jobs-plain", {**video, "prompt": "waves"}, capture)
    jobs.script("POST /v1/predictions", Echo(401, "authorization"))
    ids["jobs-401"] = _create(api, "jobs-plain", {**video, "prompt": "tide"}, capture)

    member = user.__class__.objects.create_user(username="bob", password="pw-bob-12345")
    WorkspaceMembership.objects.create(workspace=workspace, user=member, role="member")
    client = APIClient()
    client.force_authenticate(member)
    return Echoed(ids, client)


EXPECTED = {
    "oai-sk-401": ("provider_auth_failed", "HTTP 401: Incorrect API key provided: Bearer ***"),
    "oai-sk-400": (
        "provider_invalid_request",
        "HTTP 400: Invalid request: the key *** may not use this model.",
    ),
    "oai-sk-500": ("provider_server_error", "'Authorization': '***'"),
    "oai-sk-crash": ("provider_adapter_error", "ValueError: invalid literal for int()"),
    "oai-plain-401": ("provider_auth_failed", "HTTP 401: Incorrect API key provided: Bearer ***"),
    "oai-plain-400": (
        "provider_invalid_request",
        "HTTP 400: Invalid request: the key *** may not use this model.",
    ),
    "oai-plain-500": ("provider_server_error", "'Authorization': '***'"),
    "oai-plain-crash": ("provider_adapter_error", "with base 10: '***'"),
    "jobs-failed": ("provider_job_failed", "GPU worker lost while running with Bearer ***"),
    "jobs-401": ("provider_auth_failed", "HTTP 401: Incorrect API key provided: Bearer ***"),
}


@pytest.fixture
def echoed(
    api, user, workspace, monkeypatch, make_openai_server, make_jobs_server,
    django_capture_on_commit_callbacks,
) -> Echoed:  # fmt: skip
    return run_echoing_generations(
        api,
        user,
        workspace,
        monkeypatch,
        make_openai_server,
        make_jobs_server,
        django_capture_on_commit_callbacks,
    )


def test_a_member_sees_the_error_but_never_the_key(echoed):
    for what, generation_id in echoed.ids.items():
        response = echoed.member.get(f"{URL}/{generation_id}")
        assert response.status_code == 200
        body = response.json()
        code, fragment = EXPECTED[what]
        assert body["status"] == "failed", what
        assert body["error"]["code"] == code, (what, body["error"])
        assert fragment in body["error"]["message"], (what, body["error"])
        assert leaks(response.content.decode()) == [], what
    listing = echoed.member.get(URL, {"limit": 100})
    assert len(listing.json()["results"]) == len(echoed.ids)
    assert leaks(listing.content.decode()) == []


@pytest.mark.parametrize("source", [pytest.param("redis", marks=pytest.mark.redis), "database"])
def test_the_staff_telemetry_api_never_shows_the_key(echoed, staff_api, settings, source):
    if source == "database":
        settings.REDIS_URL = ""  # no telemetry Redis: figures come from ProviderAttempt rows
    for pid in ENV:
        response = staff_api.get(f"{URL}/telemetry/providers/{pid}")
        report = response.json()
        assert report["source"] == source
        last_errors = [error["last_error"] for error in report["top_errors"]]
        assert last_errors and all("***" in error for error in last_errors), last_errors
        assert leaks(response.content.decode()) == [], pid
    for path in ("telemetry/providers", "telemetry/operations/dialogue"):
        response = staff_api.get(f"{URL}/{path}")
        assert response.status_code == 200
        assert leaks(response.content.decode()) == [], path


def _row_text(row) -> str:
    values = [getattr(row, field.attname) for field in row._meta.concrete_fields]
    return json.dumps(values, default=str, ensure_ascii=False)


def test_no_row_holds_the_key(echoed):
    attempts = ProviderAttempt.objects.all()
    assert attempts.count() == len(echoed.ids)  # one call each, every one failed
    assert all("***" in attempt.error_message for attempt in attempts)
    for model in (Generation, ProviderAttempt, GenerationEvent):
        for row in model.objects.all():
            assert leaks(_row_text(row)) == [], (model.__name__, row.pk)


@pytest.mark.redis
def test_the_telemetry_redis_holds_no_key(echoed, telemetry_redis):
    values: list[str] = []
    for key in telemetry_redis.scan_iter("*"):
        kind = telemetry_redis.type(key)
        if kind == "hash":
            values += [*telemetry_redis.hgetall(key).values(), key]
        elif kind == "string":
            values.append(telemetry_redis.get(key))
        elif kind == "zset":
            values += telemetry_redis.zrange(key, 0, -1)
        elif kind == "list":
            values += telemetry_redis.lrange(key, 0, -1)
        elif kind == "set":
            values += list(telemetry_redis.smembers(key))
        else:
            values.append(json.dumps([key, kind]))
    assert any("Incorrect API key provided: Bearer ***" in value for value in values)
    assert [value for value in values if leaks(value)] == []


def test_the_admin_pages_show_no_key(echoed, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client()
    client.force_login(root)
    pages = [
        "/admin/generations/generation/",
        "/admin/generations/generation/?has_error=yes",
        "/admin/generations/providerattempt/",
        reverse("admin:genpipe_providers"),
        reverse("admin:genpipe_panel"),
    ]
    pages += [f"/admin/generations/generation/{gid}/change/" for gid in echoed.ids.values()]
    pages += [
        f"/admin/generations/providerattempt/{pk}/change/"
        for pk in ProviderAttempt.objects.values_list("pk", flat=True)
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert leaks(response.content.decode()) == [], page
    detail = client.get(f"/admin/generations/generation/{echoed.ids['oai-plain-500']}/change/")
    assert "&#x27;Authorization&#x27;: &#x27;***&#x27;" in detail.content.decode()


def test_the_logs_hold_no_key(
    caplog, api, user, workspace, monkeypatch, make_openai_server, make_jobs_server,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    caplog.handler.addFilter(ContextFilter())
    caplog.handler.addFilter(RedactFilter())  # as the configured handlers have
    caplog.set_level(logging.DEBUG)
    run_echoing_generations(
        api,
        user,
        workspace,
        monkeypatch,
        make_openai_server,
        make_jobs_server,
        django_capture_on_commit_callbacks,
    )
    crashes = [r for r in caplog.records if r.getMessage().startswith("provider adapter crashed")]
    assert len(crashes) == 2  # the tracebacks quote the key; both were masked
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any("invalid literal for int()" in line for line in lines)
    assert [line for line in lines if leaks(line)] == []


def test_the_client_masks_before_it_cuts(monkeypatch, make_openai_server):
    """A key straddling the 500-character cut must not leave its first half behind."""
    monkeypatch.setenv("GENPIPE_SECRETS_TEST_CUT_CRED", "cut-secret-value-0a9b8c7d6e5f")
    server = make_openai_server()
    padding = "x" * 490
    server.script(
        CHAT, Status(401, body={"error": {"message": f"{padding} cut-secret-value-0a9b8c7d6e5f"}})
    )
    config = ProviderConfig(
        id="cut",
        adapter="openai_compatible",
        base_url=server.url,
        credential_env_var="GENPIPE_SECRETS_TEST_CUT_CRED",
    )
    client = ProviderClient(config)
    with pytest.raises(ProviderPermanentError) as raised:
        client.request("POST", "v1/chat/completions", json_body={})
    client.close()
    assert raised.value.code == "provider_auth_failed"
    assert raised.value.message == f"HTTP 401: {padding} ***"
    assert "cut-sec" not in str(raised.value)


@pytest.mark.redis
def test_telemetry_redacts_what_it_is_given(telemetry_redis):
    telemetry_record_attempt(
        provider_id="p",
        operation_type="dialogue",
        succeeded=False,
        error_code="provider_auth_failed",
        error_message=f"HTTP 401: Incorrect API key provided: Bearer {SK_KEY}",
        at=timezone.now(),
    )
    stored = telemetry_redis.hgetall(telemetry_keys.error("provider", "p", "provider_auth_failed"))
    assert stored["last_error"] == "HTTP 401: Incorrect API key provided: Bearer ***"
