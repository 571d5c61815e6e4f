"""The Celery worker's side of the metrics.

Under ``PROMETHEUS_MULTIPROC_DIR`` every pool process writes its own files there; a pool
process that exits is marked dead (its live gauges dropped, its counters kept), as
gunicorn's ``child_exit`` hook does for web workers (``genpipe_site/gunicorn_conf.py``).
Web and worker on one host (or one shared volume) share the folder and ``/metrics``
shows both. A worker on a host of its own can serve its metrics itself:
``GENPIPE_WORKER_METRICS_PORT`` starts prometheus-client's HTTP server in the worker's
main process on ``GENPIPE_WORKER_METRICS_ADDR`` (default 127.0.0.1: keep it off public
networks, it has no authentication).
"""

from __future__ import annotations

import os
from typing import Any

from celery import signals


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def worker_signals_connect() -> None:
    signals.worker_process_shutdown.connect(_pool_process_exit, weak=False)
    signals.worker_ready.connect(_serve_worker_metrics, weak=False)


def _pool_process_exit(pid: int | None = None, **_: Any) -> None:
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def _serve_worker_metrics(**_: Any) -> None:
    port = os.environ.get("GENPIPE_WORKER_METRICS_PORT", "")
    if not port:
        return
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client import multiprocess as mp

    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
    address = os.environ.get("GENPIPE_WORKER_METRICS_ADDR", "127.0.0.1")
    start_http_server(int(port), addr=address, registry=registry)
