"""Migration operations that are safe on a live database."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class AddIndexOnline(migrations.AddIndex):
    """``AddIndex`` built ``CONCURRENTLY`` on PostgreSQL, so writes to a big table go on
    during the build; a plain ``CREATE INDEX`` elsewhere. The migration holding it must
    set ``atomic = False`` (PostgreSQL builds concurrent indexes outside transactions)."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


class RemoveIndexOnline(migrations.RemoveIndex):
    """``RemoveIndex`` dropped ``CONCURRENTLY`` on PostgreSQL (no lock that blocks the
    table's reads and writes while it waits); a plain ``DROP INDEX`` elsewhere. The
    migration holding it must set ``atomic = False``."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        concurrently = schema_editor.connection.vendor == "postgresql"
        schema_editor.remove_index(model, index, **({"concurrently": True} if concurrently else {}))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        concurrently = schema_editor.connection.vendor == "postgresql"
        schema_editor.add_index(model, index, **({"concurrently": True} if concurrently else {}))
