"""gunicorn settings of the production web process, in one place:

    gunicorn -c genpipe_site/gunicorn_conf.py genpipe_site.wsgi

Flags on the command line override them (``--bind``, ``--workers`` …).
"""

worker_class = "gthread"
workers = 2
threads = 4
timeout = 30
# Each worker binds its own socket (SO_REUSEPORT) and the kernel spreads new connections
# over them. On one shared socket the worker that wakes first accepts nearly every
# keep-alive connection of a burst (measured: 7 of 8 on one process, the other idle);
# README "Running in production".
reuse_port = True

# Requests up to these sizes reach Django, which answers bad ones in the JSON envelope: an
# over-long Idempotency-Key is a 400, an over-long X-Request-ID is replaced by our own, a
# bad cursor or query value is a 400. Beyond them gunicorn answers with its own HTML 414 or
# 431 page. 8190 is the largest request line gunicorn accepts (its default is 4094).
limit_request_line = 8190
limit_request_field_size = 16384


def post_worker_init(worker: object) -> None:
    """The worker loaded the application: move everything alive now (modules, settings,
    URL patterns, compiled templates) out of the garbage collector's reach. A full
    collection then walks only what requests made since, not the whole of Django."""
    import gc

    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    """A web worker exited: with ``PROMETHEUS_MULTIPROC_DIR`` (docs/metrics.md), drop its
    live gauges; its counters and histograms stay in the sums."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
