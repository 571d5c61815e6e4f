"""The project's own wiring that needs the app registry: Celery log context signals, the
migrate statement timeout, the database outage log and the C timestamp loader."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "genpipe core"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from django.db.models.signals import pre_migrate

        from .database import database_connected, migrate_statement_timeout
        from .logs import connect_task_signals
        from .pg_loaders import use_c_timestamp_loader
        from .prepared import allow_prepared_statements

        _make_var_dirs(settings)
        connect_task_signals()
        pre_migrate.connect(migrate_statement_timeout, dispatch_uid="genpipe-migrate-timeout")
        connection_created.connect(database_connected, dispatch_uid="genpipe-db-outage")
        connection_created.connect(use_c_timestamp_loader, dispatch_uid="genpipe-c-timestamps")
        connection_created.connect(allow_prepared_statements, dispatch_uid="genpipe-prepared")


def _make_var_dirs(settings: object) -> None:
    """The embedded default's folders (SQLite file, filesystem broker), made on start-up
    rather than when the settings are read."""
    from pathlib import Path

    database = getattr(settings, "DATABASES", {}).get("default", {})
    if database.get("ENGINE", "").endswith("sqlite3"):
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    for name in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(name):
            Path(options[name]).mkdir(parents=True, exist_ok=True)
