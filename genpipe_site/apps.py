"""The project's own wiring that needs the app registry: Celery log context signals."""

from __future__ import annotations

from django.apps import AppConfig


class GenpipeSiteConfig(AppConfig):
    name = "genpipe_site"
    verbose_name = "genpipe site"

    def ready(self) -> None:
        from .logs import connect_task_signals

        connect_task_signals()
