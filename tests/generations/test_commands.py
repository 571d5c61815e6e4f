"""Operator commands."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from generations.models import Provider, Workspace, WorkspaceMembership
from tests.embedded import embedded_site

ROOT = Path(__file__).resolve().parents[2]


def test_create_api_token_prints_only_the_token_and_is_idempotent(db):
    out = io.StringIO()
    call_command("create_api_token", "grace", "--workspace", "nightfall", stdout=out)
    token = out.getvalue().strip()
    assert token == Token.objects.get(user__username="grace").key
    assert WorkspaceMembership.objects.filter(
        user__username="grace", workspace__slug="nightfall"
    ).exists()
    again = io.StringIO()
    call_command("create_api_token", "grace", "--workspace", "nightfall", stdout=again)
    assert again.getvalue().strip() == token
    assert Workspace.objects.filter(slug="nightfall").count() == 1


def test_create_api_token_rejects_a_bad_slug(db):
    with pytest.raises(CommandError):
        call_command("create_api_token", "grace", "--workspace", "not a slug")


def test_sandbox_provider_exists_after_migrate(db):
    sandbox = Provider.objects.get(id="sandbox")
    assert sandbox.adapter == "sandbox"
    assert "image_to_video" in sandbox.operation_types


def test_create_api_token_as_a_subprocess(tmp_path):
    site = embedded_site(tmp_path)
    result = site.manage("create_api_token", "ops", "--workspace", "ops")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 40
    assert result.stdout.count("\n") == 1
