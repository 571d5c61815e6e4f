"""``validate`` gives one shape for one question: ``200 {"valid": false, "errors": [...]}``
for schema errors and rule errors alike, each ``{code, field, message}`` with the code and
path a create's error envelope gives; the dev panel's validator answers the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generations.models import Generation, Workspace, WorkspaceMembership
from generations.validation_form import validate_pasted
from tests.builders import create_body

URL = "/api/v1/generations"
VALIDATE = f"{URL}/validate"
REPORT_KEYS = {"valid", "errors", "warnings", "suggestions"}


def _issues_of_envelope(error: dict[str, Any]) -> set[tuple[str, str]]:
    return {(field, item["code"]) for field, items in error["fields"].items() for item in items}


def _issues(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(issue["field"], issue["code"]) for issue in report["errors"]}


SCHEMA_ERRORS = {
    "wrong type": create_body(priority="high"),
    "no config": {"provider_id": "sandbox"},
    "unknown field": create_body(colour="blue"),
    "bad enum": create_body(config={"strategy": "sometimes"}),
    "nested type": create_body(config={"duration": {"min": "soon"}}),
    "several": create_body(priority="high", config={"strategy": "sometimes"}),
}
RULE_ERRORS = {
    "duration range": create_body(config={"duration": {"min": 30, "max": 10}}),
    "unknown provider": create_body(provider_id="nope"),
    "strategy ids": create_body(config={"strategy": "per_player"}),
}


@pytest.mark.parametrize(
    "body", [*SCHEMA_ERRORS.values(), *RULE_ERRORS.values()], ids=[*SCHEMA_ERRORS, *RULE_ERRORS]
)
def test_schema_and_rule_errors_come_back_the_same_way(api, body, no_dispatch):
    response = api.post(VALIDATE, body, format="json")
    assert response.status_code == 200, response.json()
    report = response.json()
    assert set(report) >= REPORT_KEYS
    assert report["valid"] is False and report["errors"]
    for issue in report["errors"]:
        assert set(issue) == {"code", "field", "message"}
        assert all(isinstance(issue[k], str) and issue[k] for k in issue)
    # Exactly the problems a create refuses the same body for, code and path alike.
    created = api.post(URL, body, format="json")
    assert created.status_code == 400
    assert _issues(report) == _issues_of_envelope(created.json()["error"])
    assert Generation.objects.count() == 0


def test_a_flat_legacy_payload_is_a_validation_error_too(api):
    response = api.post(VALIDATE, {"prompt": "a cat", "quality": "hd"}, format="json")
    assert response.status_code == 200
    assert _issues(response.json()) == {("body", "legacy_payload_rejected")}
    created = api.post(URL, {"prompt": "a cat", "quality": "hd"}, format="json")
    assert created.json()["error"]["code"] == "legacy_payload_rejected"


def test_a_member_of_several_workspaces_must_name_one(api, user):
    other = Workspace.objects.create(slug="second", name="Second")
    WorkspaceMembership.objects.create(workspace=other, user=user)
    response = api.post(VALIDATE, create_body(), format="json")
    assert response.status_code == 200
    assert _issues(response.json()) == {("workspace_id", "workspace_required")}
    named = api.post(VALIDATE, create_body(workspace_id="second"), format="json")
    assert named.json()["valid"] is True


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("[1, 2]", 400, "invalid_body"),
        ("{nope", 400, "malformed_json"),
        ('"a string"', 400, "invalid_body"),
    ],
)
def test_a_body_that_cannot_be_read_is_the_envelope(api, raw, status, code):
    response = api.post(VALIDATE, raw, content_type="application/json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_workspace_that_is_not_yours_is_still_a_404(api, other_api):
    response = api.post(VALIDATE, create_body(workspace_id="rival"), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "workspace_not_found"


# The panel takes a body without ``config`` as a bare node config, so "no config" differs.
PANEL_CASES = {k: v for k, v in {**SCHEMA_ERRORS, **RULE_ERRORS}.items() if "config" in v}


@pytest.mark.parametrize("body", PANEL_CASES.values(), ids=PANEL_CASES.keys())
def test_the_dev_panel_validator_gives_the_api_s_report(api, workspace, body):
    from_api = api.post(VALIDATE, body, format="json").json()
    assert validate_pasted(workspace=workspace, body=json.loads(json.dumps(body))) == from_api


def test_schema_errors_are_counted_like_rule_errors(api):
    from telemetry.validation import validation_outcomes

    api.post(VALIDATE, create_body(priority="high"), format="json")
    api.post(VALIDATE, create_body(config={"duration": {"min": 9, "max": 1}}), format="json")
    outcomes = validation_outcomes(hours=1)
    assert outcomes["totals"]["invalid"] == 2
    assert outcomes["totals"]["validations"] == 2
    errors = {row["code"]: row["count"] for row in outcomes["by_code"] if row["kind"] == "error"}
    assert errors == {"invalid": 1, "duration_range_invalid": 1}
