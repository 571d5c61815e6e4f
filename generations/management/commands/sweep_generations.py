"""``manage.py sweep_generations``: re-enqueue stale pending generations, fail lost ones.

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
    processing_deadline,
)

LISTED = 50


class Command(BaseCommand):
    help = (
        "Re-enqueue pending generations whose task vanished and fail processing generations "
        "whose worker was lost (error code worker_lost). --dry-run only lists them."
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
            default=processing_deadline().total_seconds(),
            help="Fail processing generations started longer ago than this (default: the "
            "task hard time limit + 60 = %(default)s).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=BATCH_LIMIT,
            help="At most this many rows of each kind per run (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pending_after"] <= 0 or options["processing_after"] <= 0:
            raise CommandError("--pending-after and --processing-after must be positive.")
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
            processing_after=timedelta(seconds=options["processing_after"]),
            limit=options["limit"],
            progress=progress,
        )
        if verbosity < 1:
            return
        would = "Would " if result.dry_run else ""
        requeue = "re-enqueue" if result.dry_run else "Re-enqueued"
        fail = "fail" if result.dry_run else "failed"
        self.stdout.write(
            f"{would}{requeue} {_count(result.requeued, 'pending generation')}; "
            f"{'would ' if result.dry_run else ''}{fail} "
            f"{_count(result.failed, 'lost processing generation')} (worker_lost)"
            + ("." if result.dry_run else f"; {result.lost_races} changed meanwhile.")
        )
        if result.dry_run or verbosity >= 2:
            self._list("re-enqueue" if result.dry_run else "re-enqueued", result.requeued, now)
            self._list("fail" if result.dry_run else "failed", result.failed, now)

    def _list(self, label: str, rows: list[SweptGeneration], now: datetime) -> None:
        for row in rows[:LISTED]:
            since = "enqueued" if row.status == "pending" else "started"
            age = int((now - row.since).total_seconds())
            self.stdout.write(f"  {label} {row.id} ({row.status}, {since} {age} s ago)")
        if len(rows) > LISTED:
            self.stdout.write(f"  … and {len(rows) - LISTED} more")


def _count(rows: list[SweptGeneration], noun: str) -> str:
    return f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}"
