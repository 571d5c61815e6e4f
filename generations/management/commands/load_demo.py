"""``manage.py load_demo``: the local demo world (see ``generations.services.demo``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.services.demo import (
    DEFAULT_GENERATIONS,
    DEFAULT_LATENCY_MS,
    FAILURE_RATE,
    DemoError,
    demo_load,
)


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


class Command(BaseCommand):
    help = (
        "Load the demo workspace, users (demo/demo-password, local use only), prompt "
        "families and generations. Safe to run again: only tops up missing generations."
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
            default=DEFAULT_LATENCY_MS,
            help=f"Simulated sandbox provider latency (default {DEFAULT_LATENCY_MS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
        self.stdout.write(
            f"Sandbox provider: latency {options['latency_ms']} ms, "
            f"failure rate {FAILURE_RATE:.0%}."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login (local use only): {result.username} / {result.password}"
            )
        )
        self.stdout.write(f"API token: {result.token}")
