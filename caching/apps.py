from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """``migrate`` also creates the database cache's table (the embedded default's cache,
    or any deployment without Redis): nobody has to remember ``createcachetable``."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CachingConfig(AppConfig):
    name = "caching"
    verbose_name = "Generation cache"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self)
