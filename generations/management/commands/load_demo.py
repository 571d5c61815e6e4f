"""``manage.py load_demo``: the local demo world (see ``generations.services.demo``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.models import Provider
from generations.services.accounts import api_token_create
from generations.services.demo import (
    DEFAULT_GENERATIONS,
    DEFAULT_LATENCY_MS,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    SANDBOX_ID,
    WORKSPACE_SLUG,
    DemoError,
    demo_load,
    demo_loaded,
)


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


class Command(BaseCommand):
    help = (
        "Load the demo workspace, users (demo/demo-password, local use only), prompt "
        "families and generations. Safe to run again: only creates what is missing and tops "
        "up missing generations; settings edited in the admin are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generations",
            type=_non_negative,
            default=DEFAULT_GENERATIONS,
            help=f"Generations the demo workspace should hold (default {DEFAULT_GENERATIONS}).",
        )
        parser.add_argument(
            "--latency-ms",
            type=_non_negative,
            default=None,
            help="Set the sandbox provider's simulated latency (the first load: "
            f"{DEFAULT_LATENCY_MS}; later loads keep the sandbox's settings unless given).",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing if the demo workspace exists (only print the login and token).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"] and demo_loaded():
            token = api_token_create(username=DEMO_USERNAME, workspace_slug=WORKSPACE_SLUG)
            self.stdout.write(
                f"The demo world is already loaded (workspace '{WORKSPACE_SLUG}'): nothing "
                "changed. `manage.py load_demo` tops it up."
            )
            self._credentials(DEMO_USERNAME, DEMO_PASSWORD, token)
            return
        self.stdout.write("Loading the demo world (workspace 'demo')...")
        try:
            result = demo_load(
                generations=options["generations"],
                latency_ms=options["latency_ms"],
                progress=self.stdout.write,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        reused = sum(result.reused.values())
        detail = ", ".join(f"{how} {n}" for how, n in sorted(result.reused.items()))
        self.stdout.write(
            f"Generations: {result.created} created, {reused} reused"
            + (f" ({detail})" if detail else "")
            + f"; the workspace holds {result.total} (target {result.target})."
        )
        if result.created:
            self.stdout.write("New generations are queued for the Celery worker.")
        sandbox = Provider.objects.get(id=SANDBOX_ID).settings or {}
        self.stdout.write(
            f"Sandbox provider: latency {sandbox.get('latency_ms', 0)} ms, "
            f"failure rate {float(sandbox.get('failure_rate', 0)):.0%}."
        )
        self._credentials(result.username, result.password, result.token)

    def _credentials(self, username: str, password: str, token: str) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"Demo login (local use only): {username} / {password}")
        )
        self.stdout.write(f"API token: {token}")
