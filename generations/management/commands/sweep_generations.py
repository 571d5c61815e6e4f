"""``manage.py sweep_generations``: re-enqueue stale pending generations, recover lost ones.

The same sweep runs every minute under Celery beat (task ``generations.sweep``); this
command is for a look (``--dry-run``) or a manual run. Exit status 0, 1 on bad arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from generations.services.sweeper import (
    BATCH_LIMIT,
    PENDING_AFTER,
    SweptGeneration,
    generations_sweep,
)

LISTED = 50


class Command(BaseCommand):
    help = (
        "Re-enqueue pending generations whose task vanished and recover processing "
        "generations whose worker was lost: the unfinished attempt is marked abandoned and "
        "the next one runs within the retry budget (else the generation fails with "
        "worker_lost). A generation waiting for a retry that is not yet due is never "
        "touched. --dry-run only lists them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would happen; change nothing."
        )
        parser.add_argument(
            "--pending-after",
            type=float,
            metavar="SECONDS",
            default=PENDING_AFTER.total_seconds(),
            help="Re-enqueue pending generations enqueued longer ago than this (default "
            "%(default)s).",
        )
        parser.add_argument(
            "--processing-after",
            type=float,
            metavar="SECONDS",
            default=None,
            help="Also recover processing generations whose current attempt was claimed, or "
            "whose retry was due, longer ago than this (default: only those past their "
            "attempt's deadline, i.e. its timeout + 90 s).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=BATCH_LIMIT,
            help="At most this many rows of each kind per run (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        after = options["processing_after"]
        if options["pending_after"] < 0 or (after is not None and after < 0):
            raise CommandError("--pending-after and --processing-after must not be negative.")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        verbosity = int(options["verbosity"])

        def progress(phase: str, done: int, total: int) -> None:
            if verbosity >= 1 and total >= 100:
                self.stderr.write(f"  {phase} {done}/{total}")

        now = timezone.now()
        result = generations_sweep(
            now=now,
            dry_run=options["dry_run"],
            pending_after=timedelta(seconds=options["pending_after"]),
            processing_after=timedelta(seconds=after) if after is not None else None,
            limit=options["limit"],
            progress=progress,
        )
        if verbosity < 1:
            return
        if result.dry_run:
            self.stdout.write(
                f"Would re-enqueue {_count(result.requeued, 'pending generation')}; would "
                f"recover {_count(result.recovered, 'lost processing generation')}."
            )
        else:
            self.stdout.write(
                f"Re-enqueued {_count(result.requeued, 'pending generation')}; recovered "
                f"{_count(result.recovered, 'lost processing generation')} (next attempt "
                f"enqueued); failed {_count(result.failed, 'generation')} (worker_lost, "
                f"retry budget spent); {result.lost_races} changed meanwhile."
            )
        if result.dry_run or verbosity >= 2:
            self._list("re-enqueue" if result.dry_run else "re-enqueued", result.requeued, now)
            self._list("recover" if result.dry_run else "recovered", result.recovered, now)
            self._list("failed", result.failed, now)

    def _list(self, label: str, rows: list[SweptGeneration], now: datetime) -> None:
        for row in rows[:LISTED]:
            since = "enqueued" if row.status == "pending" else "claimed"
            age = int((now - row.since).total_seconds())
            self.stdout.write(f"  {label} {row.id} ({row.status}, {since} {age} s ago)")
        if len(rows) > LISTED:
            self.stdout.write(f"  … and {len(rows) - LISTED} more")


def _count(rows: list[SweptGeneration], noun: str) -> str:
    return f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}"
