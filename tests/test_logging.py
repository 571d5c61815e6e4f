"""Logs: a request id on every line, task and generation ids in tasks, secrets masked."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import logs
from core.logs import (
    ContextFilter,
    JsonFormatter,
    PlainFormatter,
    RedactFilter,
    redact,
    request_id_var,
    task_id_var,
)
from generations.services.processing import ProcessOutcome
from generations.tasks import process_generation
from tests.builders import create_body

ROOT = logs.__file__.rsplit("/core/", 1)[0]


def _watch(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Capture INFO and up, with the context filter the console handler has. Call it in the
    test itself: pytest gives every test phase a fresh capture handler."""
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    return caplog.records


def _access(records: list[logging.LogRecord]) -> logging.LogRecord:
    (record,) = [r for r in records if r.name == "genpipe.access"]
    return record


def test_a_request_logs_a_line_with_its_request_id_and_echoes_it(caplog):
    records = _watch(caplog)
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="edge-42.a_b")
    assert response["X-Request-ID"] == "edge-42.a_b"
    record = _access(records)
    assert record.request_id == "edge-42.a_b"
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "edge-42.a_b"
    assert line["message"] == "GET /healthz 200"
    assert line["status"] == 200
    assert "[request_id=edge-42.a_b]" in PlainFormatter().format(record)
    assert request_id_var.get() is None  # nothing leaks into the next request


@pytest.mark.parametrize(
    "header", ["x" * 65, "two words", "id\nforged log line", "<script>", "ü-unicode"]
)
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one(caplog, header):
    records = _watch(caplog)
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=header)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert _access(records).request_id == response["X-Request-ID"]


def test_without_a_header_every_request_gets_its_own_id():
    first = Client().get("/healthz")["X-Request-ID"]
    second = Client().get("/healthz")["X-Request-ID"]
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)


def test_an_unexpected_error_is_logged_with_the_request_id(caplog, user, workspace, monkeypatch):
    records = _watch(caplog)
    from generations.services import submission

    def boom(**_: object) -> None:
        raise RuntimeError("internals")

    monkeypatch.setattr(submission, "generation_create", boom)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    response = client.post(
        "/api/v1/generations", create_body(), format="json", HTTP_X_REQUEST_ID="req-500"
    )
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-500"
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert errors and all(r.request_id == "req-500" for r in errors)
    assert "RuntimeError: internals" in json.loads(JsonFormatter().format(errors[0]))["exc_info"]


def test_task_lines_carry_the_task_and_generation_ids(caplog, monkeypatch):
    records = _watch(caplog)

    def process(*, generation_id: str, **_: Any) -> ProcessOutcome:
        logging.getLogger("genpipe.worker").info("working on it")
        return ProcessOutcome("completed")

    monkeypatch.setattr("generations.tasks.generation_process", process)
    result = process_generation.delay("0b7c6f43-8f1c-4a53-9d0e-6c3b4b3e8d11")
    (record,) = [r for r in records if r.getMessage() == "working on it"]
    assert record.generation_id == "0b7c6f43-8f1c-4a53-9d0e-6c3b4b3e8d11"
    assert record.task_id == result.id
    assert task_id_var.get() is None  # restored after the task


def test_an_eager_task_inside_a_request_keeps_the_request_id(caplog, api, monkeypatch):
    records = _watch(caplog)

    def process(*, generation_id: str, **_: Any) -> ProcessOutcome:
        logging.getLogger("genpipe.worker").info("inside")
        return ProcessOutcome("completed")

    monkeypatch.setattr("generations.tasks.generation_process", process)
    # Publish at once, inside the request (as a worker-less eager run would after commit).
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, *a, **k: func())
    api.post("/api/v1/generations", create_body(), format="json", HTTP_X_REQUEST_ID="r-1")
    (record,) = [r for r in records if r.getMessage() == "inside"]
    assert (record.request_id, record.generation_id is not None) == ("r-1", True)
    assert _access(records).generation_id is None  # the task's ids ended with the task


SECRETS = [
    ("sending Authorization: Token 0123456789abcdef0123456789abcdef", "Token 0123"),
    ("headers={'HTTP_AUTHORIZATION': 'Bearer eyJhbGciOi.JIUzI1NiJ9.abc'}", "eyJhbGciOi"),
    ("retrying with bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
    ("url=https://api.example.com/v1?api_key=s3cr3t-v4lue&x=1", "s3cr3t-v4lue"),
    ('{"password": "hunter2hunter2"}', "hunter2"),
    ("connecting to postgres://genpipe:pa55w0rd@db:5432/genpipe", "pa55w0rd"),
    ("openai said no to sk-proj-abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
]


@pytest.mark.parametrize(("message", "secret"), SECRETS)
def test_credentials_are_masked(message, secret):
    cleaned = redact(message)
    assert secret not in cleaned
    assert "***" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "generation 3f2 completed in 412 ms (cache_key generation:dialogue|adaptive|v1)",
        "Token authentication failed for this request",
        "tokens_in=12 tokens_out=40 cost_usd=0.000031",
    ],
)
def test_ordinary_lines_are_left_alone(line):
    assert redact(line) == line


def test_provider_credentials_from_the_environment_are_masked(monkeypatch):
    monkeypatch.setenv("ACME_VIDEO_API_KEY", "acme-live-7f3a9c2e")
    logs._secret_values.cache_clear()
    try:
        assert redact("provider rejected acme-live-7f3a9c2e") == "provider rejected ***"
    finally:
        logs._secret_values.cache_clear()


def test_the_redact_filter_cleans_arguments_tracebacks_and_extras():
    logger = logging.getLogger("genpipe.test")
    try:
        raise ValueError("bad header Authorization: Bearer abcdefghijklmnopqrst")
    except ValueError:
        record = logger.makeRecord(
            "genpipe.test",
            logging.ERROR,
            __file__,
            1,
            "calling %s",
            ("https://user:topsecret@example.com/x",),
            sys.exc_info(),
            extra={"upstream": "token=abcdef123456"},
        )
    assert RedactFilter().filter(record)
    ContextFilter().filter(record)
    line = JsonFormatter().format(record)
    for secret in ("topsecret", "abcdefghijklmnopqrst", "abcdef123456"):
        assert secret not in line
    payload = json.loads(line)
    assert payload["message"] == "calling https://user:***@example.com/x"
    assert payload["upstream"] == "token=***"


def _log_in_subprocess(**env: str) -> str:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('genpipe.x').warning('hello Authorization: Token abcdefghijklmnop')"
    )
    full_env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if k not in {"GENPIPE_ENV", "GENPIPE_LOG_FORMAT"}
    }
    full_env.update(DJANGO_SETTINGS_MODULE="genpipe_site.settings", **env)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr.strip().splitlines()[-1]


def test_production_logs_are_json_and_development_logs_are_plain(tmp_path):
    secret = "x" * 60
    line = _log_in_subprocess(
        GENPIPE_ENV="production", DJANGO_SECRET_KEY=secret, GENPIPE_VAR_DIR=str(tmp_path)
    )
    payload = json.loads(line)
    assert (payload["level"], payload["logger"]) == ("WARNING", "genpipe.x")
    assert payload["message"] == "hello Authorization: ***"
    assert set(payload) >= {"time", "request_id", "task_id", "generation_id"}
    plain = _log_in_subprocess(GENPIPE_VAR_DIR=str(tmp_path))
    assert plain.endswith(" WARNING genpipe.x hello Authorization: ***")
    forced = _log_in_subprocess(GENPIPE_LOG_FORMAT="json", GENPIPE_VAR_DIR=str(tmp_path))
    assert json.loads(forced)["logger"] == "genpipe.x"


class _FakeTask:
    """What the Celery signal handlers read from a task: its function and request."""

    class request:
        genpipe_request_id = "pub-1"

    @staticmethod
    def run(generation_id: str, attempt: int = 1) -> None:  # pragma: no cover
        """The signature the generation id is read from."""


def test_a_published_task_carries_the_request_id_to_its_worker_lines():
    headers: dict[str, Any] = {}
    token = request_id_var.set("pub-1")
    try:
        logs.task_headers_add(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"genpipe_request_id": "pub-1"}
    logs.task_context_enter(task_id="t-1", task=_FakeTask(), args=["g-1"], kwargs={"attempt": 2})
    assert (request_id_var.get(), task_id_var.get(), logs.generation_id_var.get()) == (
        "pub-1",
        "t-1",
        "g-1",
    )
    logs.task_context_exit(task_id="t-1")
    assert (request_id_var.get(), task_id_var.get(), logs.generation_id_var.get()) == (
        None,
        None,
        None,
    )
