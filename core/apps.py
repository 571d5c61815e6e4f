"""The project's own wiring that needs the app registry: Celery log context signals, the
migrate statement timeout and the database outage log."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "genpipe core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import pre_migrate

        from .database import database_connected, migrate_statement_timeout
        from .logs import connect_task_signals

        connect_task_signals()
        pre_migrate.connect(migrate_statement_timeout, dispatch_uid="genpipe-migrate-timeout")
        connection_created.connect(database_connected, dispatch_uid="genpipe-db-outage")
