"""Settings of the test suite: the project's settings, with what in-process tests need.

In-process tests run Celery tasks inline (tests/e2e start a real worker on
``genpipe_site.settings`` instead), hash passwords cheaply, and give each xdist worker
its own cache key prefix on the shared Redis. Subprocesses the tests start (manage.py,
gunicorn, workers) name ``genpipe_site.settings`` themselves.
"""

from __future__ import annotations

import copy
import os

from .settings import *  # noqa: F403
from .settings import CACHES as _CACHES

CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = copy.deepcopy(_CACHES)
CACHES["default"]["KEY_PREFIX"] = f"genpipe-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
# Every reuse writes its saving at once: tests read the rows right after a hit. The
# interval itself is tested in tests/budgets/test_savings.py.
GENPIPE_REUSE_SAVING_FLUSH_S = 0.0
# Likewise statistics: each count is written at once (the interval: tests/telemetry/
# test_bucket_batching.py).
GENPIPE_STATS_FLUSH_S = 0.0
