from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The provider cache connects its signal receivers; the tasks register with Celery
        # in every process, so services can publish them by name (services.dispatch).
        # Memberships are kept with a cached token (core.auth): a change forgets them.
        from django.db.models.signals import post_delete, post_save

        from core.auth import auth_cache_clear

        from . import provider_cache, tasks  # noqa: F401
        from .models import Workspace, WorkspaceMembership

        for model in (Workspace, WorkspaceMembership):
            post_save.connect(auth_cache_clear, sender=model, dispatch_uid=f"auth-{model}-save")
            post_delete.connect(auth_cache_clear, sender=model, dispatch_uid=f"auth-{model}-del")
