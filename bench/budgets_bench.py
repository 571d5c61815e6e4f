"""Budget micro-benchmark: the create path with budgets off vs on, reserve and settle.

    GENPIPE_BUDGET_STORE=redis .venv/bin/python bench/budgets_bench.py [--creates 300]

Uses the configured database and Redis (``DATABASE_URL``, ``REDIS_URL``) with a throwaway
workspace ``bench-budgets-<random>`` that it deletes at the end; tasks are not published
(``generation_enqueue`` is replaced by a no-op). Prints one JSON document: p50/p99 in ms
of ``generation_create`` without a budget and with one applicable budget, and of the
store's ``store_reserve`` and ``store_apply`` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from budgets.models import Budget  # noqa: E402
from budgets.periods import period_bounds  # noqa: E402
from budgets.services import budget_configs  # noqa: E402
from budgets.store import store_apply, store_name, store_reserve  # noqa: E402
from generations.models import Workspace  # noqa: E402
from generations.services import creation  # noqa: E402


def _pct(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def _creates(workspace: Workspace, count: int, label: str) -> list[float]:
    times = []
    for index in range(count):
        data = {
            "provider_id": "sandbox",
            "config": {
                "generation_type": "text_to_image",
                "purpose": "adaptive",
                "strategy": "once",
                "fallback": {"mode": "skip"},
                "prompt": f"{label} {index} {uuid.uuid4().hex}",
            },
        }
        started = time.perf_counter()
        creation.generation_create(workspace=workspace, user=None, data=data)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=300)
    args = parser.parse_args()
    creation.generation_enqueue = lambda **_: None  # type: ignore[assignment]
    workspace = Workspace.objects.create(slug=f"bench-budgets-{uuid.uuid4().hex[:8]}", name="b")
    try:
        off = _creates(workspace, args.creates, "off")
        Budget.objects.create(workspace=workspace, limit_usd=Decimal("1000000"))
        on = _creates(workspace, args.creates, "on")
        refs = budget_configs(workspace.id)
        reserve, settle = [], []
        for _ in range(args.creates):
            gid, now = str(uuid.uuid4()), timezone.now()
            with transaction.atomic():
                started = time.perf_counter()
                store_reserve(refs, 40001, now=now, generation_id=gid)
                reserve.append(time.perf_counter() - started)
            start = period_bounds(refs[0].period, now)[0]
            with transaction.atomic():
                started = time.perf_counter()
                store_apply(refs[0].id, start, spent=40001, released=40001, generation_id=gid)
                settle.append(time.perf_counter() - started)
        print(
            json.dumps(
                {
                    "store": store_name(),
                    "creates": args.creates,
                    "create_budgets_off": _pct(off),
                    "create_budgets_on": _pct(on),
                    "reserve": _pct(reserve),
                    "settle": _pct(settle),
                },
                indent=2,
            )
        )
    finally:
        workspace.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
