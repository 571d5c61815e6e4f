"""Bench-only settings: the product's settings, with the ceiling endpoints mounted.

Everything else (database, cache, broker, throttles, DRF defaults) comes from the
environment exactly as for the product, so the ceilings pay the same framework costs.
"""

from __future__ import annotations

from genpipe_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_site.urls"
# The worker registers the bench's no-op task (ceiling_celery_noop) next to the product's.
CELERY_IMPORTS = ["bench.bench_site.tasks"]
