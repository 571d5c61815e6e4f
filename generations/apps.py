from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The provider cache connects its signal receivers; the tasks register with Celery
        # in every process, so services can publish them by name (services.dispatch).
        from . import provider_cache, tasks  # noqa: F401
