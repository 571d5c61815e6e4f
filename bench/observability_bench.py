"""What the observability feeds add to the create path and the worker, in-process.

    .venv/bin/python bench/observability_bench.py --database-url postgres://… \\
        --redis-url redis://127.0.0.1:6379/3 --broker-url redis://127.0.0.1:6379/4 [--n 3000]

The HTTP scenarios of ``bench/run.py`` cannot resolve a few microseconds on a shared VM, so
this times the pieces one by one, each ``--n`` times, on ``bench.bench_site.settings``
(start it once with ``PROMETHEUS_MULTIPROC_DIR`` set to an empty folder to time the
multiprocess mode):

1. the three listeners ``observability.listeners.metrics_on_transition`` /
   ``metrics_on_cache_lookup`` / ``metrics_on_attempt`` (prometheus-client increments and
   histogram observations, tracing off);
2. the publish of ``generations.process_generation`` to the real broker, with and without
   the ``task-sent`` event (``CELERY_TASK_SEND_SENT_EVENT``), interleaved in blocks of 100
   (the messages go to a queue of their own, purged after).

Prints one JSON document: median and p95 microseconds per call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(function: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        out.append((time.perf_counter() - start) * 1e6)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered), 2),
        "p95_us": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "n": len(ordered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--broker-url", required=True)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.bench_site.settings",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.broker_url,
    )
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    import django

    django.setup()
    from generations.hooks import AttemptFinished, StatusChange
    from genpipe_site.celery import app
    from observability import listeners

    now = datetime.now(UTC)
    change = StatusChange(1, uuid.uuid4(), 1, "sandbox", "dialogue", "", "pending", "x", now)
    attempt = AttemptFinished(
        uuid.uuid4(), "sandbox", "dialogue", "succeeded", "", "m", 850, 120, 300,
        Decimal("0.000198"), now, now,
    )  # fmt: skip
    results: dict[str, Any] = {
        "multiprocess": bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
        "listeners": {
            "metrics_on_transition": summary(
                timed(lambda: listeners.metrics_on_transition(change), args.n)
            ),
            "metrics_on_cache_lookup": summary(
                timed(lambda: listeners.metrics_on_cache_lookup("miss", "dialogue"), args.n)
            ),
            "metrics_on_attempt": summary(
                timed(lambda: listeners.metrics_on_attempt(attempt), args.n)
            ),
        },
    }
    queue = f"bench-observability-{uuid.uuid4().hex[:8]}"
    task = app.tasks["generations.process_generation"]
    samples: dict[bool, list[float]] = {False: [], True: []}
    try:
        for block in range(max(2, args.n // 100)):
            sent_event = bool(block % 2)
            app.conf.task_send_sent_event = sent_event
            samples[sent_event] += timed(
                lambda: task.apply_async(args=[str(uuid.uuid4())], queue=queue, retry=False), 100
            )
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
    results["publish"] = {
        "without_sent_event": summary(samples[False]),
        "with_sent_event": summary(samples[True]),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
