"""``manage.py create_api_token USERNAME --workspace SLUG [--create-workspace] [--staff]``:
prints only the token."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from generations.services.accounts import WorkspaceMissing, api_token_create


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME, creating the user and the membership of the "
        "workspace when missing. The workspace must exist unless --create-workspace is "
        "given (a mistyped slug never makes a new one). Only the token goes to stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument(
            "--create-workspace",
            action="store_true",
            help="Create the workspace when it does not exist (its first member owns it).",
        )
        parser.add_argument(
            "--staff",
            action="store_true",
            help="Make the user staff: the telemetry and cache endpoints, which aggregate "
            "every workspace, need a staff token.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["workspace"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"invalid workspace slug: {slug!r}") from exc
        try:
            token = api_token_create(
                username=options["username"],
                workspace_slug=slug,
                create_workspace=options["create_workspace"],
                staff=options["staff"],
            )
        except WorkspaceMissing as exc:
            raise CommandError(
                f"no workspace {slug!r}; check the slug, or pass --create-workspace to create it"
            ) from exc
        self.stdout.write(token)
