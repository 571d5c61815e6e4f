from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from . import tracing, worker

        worker.worker_signals_connect()
        tracing.tracing_setup()
