"""``manage.py create_api_token USERNAME --workspace SLUG``: prints only the token."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from generations.services.accounts import api_token_create


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME, creating the user, the workspace and the "
        "membership when missing. Only the token goes to stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", required=True, help="Workspace slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            validate_slug(options["workspace"])
        except ValidationError as exc:
            raise CommandError(f"invalid workspace slug: {options['workspace']!r}") from exc
        token = api_token_create(username=options["username"], workspace_slug=options["workspace"])
        self.stdout.write(token)
