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
    call_command(
        "create_api_token", "grace", "--workspace", "nightfall", "--create-workspace", stdout=out
    )
    token = out.getvalue().strip()
    assert token == Token.objects.get(user__username="grace").key
    assert WorkspaceMembership.objects.filter(
        user__username="grace", workspace__slug="nightfall"
    ).exists()
    again = io.StringIO()
    call_command("create_api_token", "grace", "--workspace", "nightfall", stdout=again)
    assert again.getvalue().strip() == token
    assert Workspace.objects.filter(slug="nightfall").count() == 1


def test_create_api_token_refuses_a_workspace_that_does_not_exist(db, workspace, django_user_model):
    with pytest.raises(CommandError, match=r"no workspace 'stuido'.*--create-workspace"):
        call_command("create_api_token", "lin", "--workspace", "stuido")
    assert not Workspace.objects.filter(slug="stuido").exists()
    assert not django_user_model.objects.filter(username="lin").exists()  # nothing written
    out = io.StringIO()
    call_command("create_api_token", "lin", "--workspace", "studio", stdout=out)
    assert out.getvalue().strip() == Token.objects.get(user__username="lin").key
    assert WorkspaceMembership.objects.get(user__username="lin").workspace == workspace
    assert WorkspaceMembership.objects.get(user__username="lin").role == "member"


def test_create_api_token_rejects_a_bad_slug(db):
    with pytest.raises(CommandError):
        call_command("create_api_token", "grace", "--workspace", "not a slug")


def test_sandbox_provider_exists_after_migrate(db):
    sandbox = Provider.objects.get(id="sandbox")
    assert sandbox.adapter == "sandbox"
    assert "image_to_video" in sandbox.operation_types


def test_create_api_token_as_a_subprocess(tmp_path):
    site = embedded_site(tmp_path)
    result = site.manage("create_api_token", "ops", "--workspace", "ops", "--create-workspace")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 40
    assert result.stdout.count("\n") == 1
    mistyped = site.manage("create_api_token", "ops", "--workspace", "osp")
    assert mistyped.returncode == 1
    assert mistyped.stdout == ""
    assert "no workspace 'osp'" in mistyped.stderr


def test_create_api_token_staff_makes_a_staff_user(db, workspace, django_user_model):
    call_command("create_api_token", "ops", "--workspace", "studio", stdout=io.StringIO())
    assert not django_user_model.objects.get(username="ops").is_staff
    call_command(
        "create_api_token", "ops", "--workspace", "studio", "--staff", stdout=io.StringIO()
    )
    assert django_user_model.objects.get(username="ops").is_staff
    call_command("create_api_token", "ops", "--workspace", "studio", stdout=io.StringIO())
    assert django_user_model.objects.get(username="ops").is_staff  # never taken away
