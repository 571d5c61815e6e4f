"""``manage.py provider_health``: every provider's health, as a table or JSON.

Exit status: 0, or 2 when an *enabled* provider is ``down`` (a disabled one takes no
traffic, so it alerts nobody) — usable as a cron or monitoring check. ``--reset ID``
closes a provider's circuit breaker by hand first.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.figures import provider_report_all
from generations.models import Provider
from generations.services.breaker import breaker_reset

DOWN_EXIT_CODE = 2
COLUMNS = (
    "provider",
    "enabled",
    "state",
    "breaker",
    "1h attempts",
    "success",
    "p95 ms",
    "consec. fail",
    "top error",
)


def _row(report: dict[str, Any]) -> tuple[str, ...]:
    hour = report["last_1h"]
    attempts, failures = hour["attempts"], hour["attempt_failures"]
    rate = f"{(attempts - failures) / attempts:.1%}" if attempts else "-"
    p95 = report["latency_ms"]["p95"]
    errors = report["top_errors"]
    top = f"{errors[0]['error_type']} ({errors[0]['count']})" if errors else "-"
    breaker = report["breaker"]
    circuit = breaker["state"]
    if breaker["open_until"]:
        circuit += f" until {breaker['open_until'][11:19]}"
    return (
        report["provider_id"],
        "yes" if report["enabled"] else "no",
        report["health"]["state"],
        circuit,
        str(attempts),
        rate,
        f"{p95:.0f}" if p95 is not None else "-",
        str(report["consecutive_failures"]),
        top,
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [COLUMNS, *rows]
    ]


class Command(BaseCommand):
    help = (
        "Show every provider's health (state, circuit breaker, last-hour attempts and "
        "success rate, 24 h p95 latency, consecutive failures, top error). Exits with 2 "
        "when an enabled provider is down. --reset ID closes a provider's breaker first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the full reports as JSON.")
        parser.add_argument(
            "--reset",
            action="append",
            default=[],
            metavar="ID",
            help="Close this provider's circuit breaker (repeatable), then report.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for provider_id in options["reset"]:
            provider = Provider.objects.filter(id=provider_id).first()
            if provider is None:
                raise CommandError(f"No provider {provider_id!r}.")
            was_open = breaker_reset(provider=provider)
            state = "closed (it was open)" if was_open else "closed (it already was)"
            self.stderr.write(f"{provider_id}: circuit breaker {state}.")
        reports = provider_report_all()
        down = [
            r["provider_id"] for r in reports if r["enabled"] and r["health"]["state"] == "down"
        ]
        if options["json"]:
            payload = {"providers": reports, "down": down}
            self.stdout.write(json.dumps(payload, indent=2, default=str))
        else:
            for line in _table([_row(r) for r in reports]) if reports else ["No providers."]:
                self.stdout.write(line)
            for report in reports:
                for reason in report["health"]["reasons"]:
                    self.stdout.write(f"  {report['provider_id']}: {reason}")
            sources = sorted({r["source"] for r in reports})
            if sources:
                self.stdout.write(f"Figures from: {', '.join(sources)}.")
        if down:
            raise CommandError(
                f"{len(down)} enabled provider(s) down: {', '.join(down)}",
                returncode=DOWN_EXIT_CODE,
            )
