"""The command lines of the processes ``bench/run.py`` starts, in one place.

The web servers run the product's own gunicorn configuration (``genpipe_site/gunicorn_conf.py``,
the file operators use) with only the bind address and the grace period given on the
command line, so the bench measures what the README tells operators to run. Environment
variables of the same names as the constants below override them for exploratory runs
(``BENCH_GUNICORN_ARGS="--workers 4 --threads 2"``: extra gunicorn flags, appended).
"""

from __future__ import annotations

import os
import shlex

CONF = "genpipe_site/gunicorn_conf.py"
CELERY_CONCURRENCY = 2
# Scenarios sent to the ASGI server (``Prefer: wait`` is served there only).
ASGI_SCENARIOS = frozenset({"post_to_completed_wait_c1", "post_to_completed_getwait_c1"})


def _extra(name: str) -> list[str]:
    return shlex.split(os.environ.get(name, ""))


def wsgi_args(port: int) -> list[str]:
    """gunicorn on the WSGI application: the product's configuration file."""
    return [
        *("-m", "gunicorn", "-c", CONF),
        *("--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"),
        *_extra("BENCH_GUNICORN_ARGS"),
        "genpipe_site.wsgi:application",
    ]


def asgi_args(port: int) -> list[str]:
    """gunicorn with uvicorn workers on the ASGI application (streams, ``Prefer: wait``),
    as the README's serving section runs it."""
    return [
        *("-m", "gunicorn", "-c", CONF, "-k", "uvicorn_worker.UvicornWorker"),
        *("--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"),
        *_extra("BENCH_ASGI_ARGS"),
        "genpipe_site.asgi:application",
    ]


def celery_args() -> list[str]:
    """The Celery worker: prefork, ``CELERY_CONCURRENCY`` children, the default queue."""
    return [
        *("-m", "celery", "-A", "genpipe_site", "worker", "--pool=prefork", "-Q", "celery"),
        f"--concurrency={CELERY_CONCURRENCY}",
        *_extra("BENCH_CELERY_ARGS"),
    ]


def flags(args: list[str]) -> str:
    """A command line of the functions above (built with port 0) for the report, without
    the interpreter's ``-m``."""
    return " ".join(args[2:]).replace("127.0.0.1:0", "127.0.0.1:<free port>")
