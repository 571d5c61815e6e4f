"""Schema-driven fuzzing: whatever a client sends, no 5xx, every 4xx is the envelope, and
every answer is what the OpenAPI schema says.

For each operation, Schemathesis loads ``/api/schema/`` from the WSGI application in-process
and Hypothesis generates requests from it (valid and invalid bodies, parameters and
headers, plus the schema's own examples), sent through the same application against the
test database: no server, no network. Each response passes Schemathesis' checks — not a
server error, a documented status code, a documented content type, a body that conforms
to the documented schema — so a client generated from the schema is right. Bounded and
derandomized: fast and repeatable. Streaming operations (``text/event-stream``) are left
out: their answers are not JSON documents to check.

Schemathesis' own pytest loader (``from_fixture``) does not run under pytest 9, so the
operations are parametrized here and each one is driven with its Hypothesis strategies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from generations.models import Workspace, WorkspaceMembership
from genpipe_site.wsgi import application
from tests.builders import create_body

STAFF_PATHS = ("/api/v1/generations/telemetry/", "/api/v1/generations/cache/")
METHODS = {"get", "put", "post", "patch", "delete"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
STREAMING = "text/event-stream"


def _streams(operation: dict[str, Any]) -> bool:
    return any(STREAMING in (r.get("content") or {}) for r in operation["responses"].values())


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation but the streaming ones; the generator
    needs no database."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(
        (method.upper(), path)
        for path, item in paths.items()
        for method, operation in item.items()
        if method in METHODS and not _streams(operation)
    )


@contextmanager
def wsgi_in_test_transaction() -> Iterator[None]:
    """Serve raw WSGI calls inside the test's transaction, as Django's test client does: the
    end of a request must not close the connection (and lose the test data)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db: Any, sandbox: Any) -> Any:
    with wsgi_in_test_transaction():
        return schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def tokens(db: Any, django_user_model: Any) -> dict[str, str]:
    """A workspace member's token, and a staff user's for the telemetry/cache endpoints."""
    member = django_user_model.objects.create_user(username="fuzz", password="pw-fuzz-12345")
    staff = django_user_model.objects.create_user(
        username="fuzz-ops", password="pw-ops-12345", is_staff=True
    )
    workspace = Workspace.objects.create(slug="fuzz", name="Fuzz")
    WorkspaceMembership.objects.create(workspace=workspace, user=member, role="owner")
    return {
        "member": Token.objects.create(user=member).key,
        "staff": Token.objects.create(user=staff).key,
    }


@pytest.fixture
def known_ids(tokens: dict[str, str]) -> dict[str, str]:
    """Path parameters that exist, so detail/cancel/retry get past their 404."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens['member']}")
    created = client.post("/api/v1/generations", create_body(), format="json")
    assert created.status_code == 201, created.json()
    family = client.post("/api/v1/prompt-families", {"slug": "fuzz", "name": "Fuzz"}, format="json")
    assert family.status_code == 201, family.json()
    version = client.post(
        "/api/v1/prompt-families/fuzz/versions", {"template": "hi {{who}}"}, format="json"
    )
    assert version.status_code == 201, version.json()
    budget = client.post("/api/v1/budgets", {"limit_usd": "100"}, format="json")
    assert budget.status_code == 201, budget.json()
    endpoint, delivery = _webhook_with_delivery(created.json()["id"])
    return {
        "generation_id": created.json()["id"],
        "budget_id": str(budget.json()["id"]),
        "provider_id": "sandbox",
        "operation_type": "dialogue",
        "slug": "fuzz",
        "number": "1",
        "webhook_id": str(endpoint),
        "delivery_id": str(delivery),
    }


def _webhook_with_delivery(generation_id: str) -> tuple[int, int]:
    """A webhook endpoint of the fuzz workspace with one delivery (ids for the paths)."""
    from django.utils import timezone

    from generations.models import GenerationEvent
    from webhooks.models import Delivery, Endpoint
    from webhooks.signing import secret_generate, secret_seal

    event = GenerationEvent.objects.filter(generation_id=generation_id).first()
    assert event is not None
    endpoint = Endpoint.objects.create(
        workspace=event.generation.workspace,
        url="https://hooks.example.com/genpipe",
        secret_sealed=secret_seal(secret_generate()),
    )
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        webhook_id="msg_fuzz",
        event_type="generation.pending",
        body="{}",
        state=Delivery.State.GAVE_UP,
        created_at=now,
        updated_at=now,
    )
    return endpoint.id, delivery.id


def _check(case: Any, token: str) -> None:
    headers = {"Authorization": f"Token {token}"}
    response = case.call(headers=headers)
    summary = f"{case.method} {case.formatted_path} → {response.status_code}: {response.text}"
    assert response.status_code < 500, summary
    case.validate_response(response, checks=CHECKS, headers=headers)
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"}, summary
        assert set(body["error"]) == {"code", "message", "fields"}, summary
        assert isinstance(body["error"]["code"], str) and body["error"]["code"], summary
        assert isinstance(body["error"]["fields"], dict), summary


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_answer_is_documented_and_no_request_gets_a_server_error(
    method: str, path: str, api_schema: Any, tokens: dict[str, str], known_ids: dict[str, str]
) -> None:
    operation = api_schema[path][method]
    token = tokens["staff" if path.startswith(STAFF_PATHS) else "member"]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        *operation.get_strategies_from_examples(),
    ]
    if names := re.findall(r"{(\w+)}", path):
        existing = {name: known_ids[name] for name in names}
        strategies.append(operation.as_strategy(path_parameters=existing))
    cases = st.one_of(*strategies)

    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def fuzz(case: Any) -> None:
        _check(case, token)

    with wsgi_in_test_transaction():
        fuzz()


def test_streaming_operations_are_left_out() -> None:
    stream = {"responses": {"200": {"content": {STREAMING: {"schema": {"type": "string"}}}}}}
    json_body = {"responses": {"200": {"content": {"application/json": {}}}, "404": {}}}
    assert _streams(stream) and not _streams(json_body)
    assert ("GET", "/api/v1/generations") in _operations()
