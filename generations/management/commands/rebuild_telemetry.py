"""``manage.py rebuild_telemetry``: rebuild the Redis aggregates from the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from generations.services.telemetry_rebuild import telemetry_rebuild


class Command(BaseCommand):
    help = "Delete the telemetry aggregates in Redis and replay them from the database."

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            self.stderr.write(f"  replayed {done}/{total} events")

        try:
            count = telemetry_rebuild(progress=progress)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Rebuilt telemetry from {count} events.")
