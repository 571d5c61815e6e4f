"""Bench-only settings: the product's settings, with the ceiling endpoints mounted.

Everything else (database, cache, broker, throttles, DRF defaults) comes from the
environment exactly as for the product, so the ceilings pay the same framework costs.
"""

from __future__ import annotations

import os

from genpipe_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_site.urls"
# The worker registers the bench's no-op task (ceiling_celery_noop) next to the product's.
CELERY_IMPORTS = ["bench.bench_site.tasks"]

# run.py --trace: wall-clock stamps of each generation's trip through Celery.
if _trace_url := os.environ.get("BENCH_TRACE_REDIS_URL"):
    from bench.bench_site import trace

    trace.connect(_trace_url)
    GENPIPE_TRANSITION_LISTENERS = [
        "bench.bench_site.trace.committed",
        *GENPIPE_TRANSITION_LISTENERS,  # noqa: F405
        "bench.bench_site.trace.woken",
    ]
