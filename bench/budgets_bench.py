"""Budget micro-benchmark: the create path with budgets off vs on, reserve and settle.

    .venv/bin/python bench/budgets_bench.py [--creates 300] [--markdown bench/RESULTS.md]

Uses the configured database and Redis (``DATABASE_URL``, ``REDIS_URL``) with a throwaway
workspace ``bench-budgets-<random>`` that it deletes at the end; tasks are not published
(``generation_enqueue`` is replaced by a no-op). For each budget store (``redis`` when
``REDIS_URL`` is set, then ``database``) it times ``generation_create`` without a budget
and with one applicable hard budget, and the store's ``store_reserve`` and
``store_apply`` (the settlement) alone, and counts the Redis round trips of each create.
Prints one JSON document; ``--markdown`` also replaces the "Budgets" section of that
file (``bench/run.py`` renders the same section with the ``budgets`` scenario).

Importing this module does not set Django up: ``bench/run.py`` imports ``run_budgets``
and ``render_budgets`` from it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the repository
    sys.path.insert(0, str(ROOT))

from bench.sections import section_replace  # noqa: E402

BEGIN, END = "<!-- budgets:begin -->", "<!-- budgets:end -->"


def _pct(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


@contextmanager
def _round_trips() -> Iterator[list[int]]:
    """Count redis-py ``send_packed_command`` calls (one per command or pipeline, each
    waited for: the round trips) of every client in this process while open."""
    from redis.connection import Connection

    counter = [0]
    saved = Connection.__dict__.get("send_packed_command")
    send = Connection.send_packed_command

    def counting(conn: Any, *args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return send(conn, *args, **kwargs)

    Connection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        if saved is None:
            del Connection.send_packed_command
        else:
            Connection.send_packed_command = saved  # type: ignore[method-assign]


def _create(workspace: Any, label: str, sent: list[int]) -> tuple[float, int]:
    from generations.services import creation

    data = {
        "provider_id": "sandbox",
        "config": {
            "generation_type": "text_to_image",
            "purpose": "adaptive",
            "strategy": "once",
            "fallback": {"mode": "skip"},
            "prompt": f"{label} {uuid.uuid4().hex}",
        },
    }
    before = sent[0]
    started = time.perf_counter()
    creation.generation_create(workspace=workspace, user=None, data=data)
    return time.perf_counter() - started, sent[0] - before


def _measure(store: str, count: int) -> dict[str, Any]:
    """Creates alternate between a workspace without a budget and one with a budget, so
    the machine's drift during the run weighs on both sides alike."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from budgets.models import Budget
    from budgets.periods import period_bounds
    from budgets.services import budget_configs
    from budgets.store import store_apply, store_reserve
    from generations.models import Workspace

    settings.GENPIPE_BUDGET_STORE = store
    tag = uuid.uuid4().hex[:8]
    off_ws = Workspace.objects.create(slug=f"bench-budgets-off-{tag}", name="b")
    on_ws = Workspace.objects.create(slug=f"bench-budgets-on-{tag}", name="b")
    times: dict[str, list[float]] = {"off": [], "on": []}
    trips: dict[str, Counter[int]] = {"off": Counter(), "on": Counter()}
    try:
        Budget.objects.create(workspace=on_ws, limit_usd=Decimal("1000000"))
        with _round_trips() as sent:
            for index in range(count + 20):  # the first 20 of each side warm up
                for side, workspace in (("off", off_ws), ("on", on_ws)):
                    elapsed, round_trips = _create(workspace, f"{side} {index}", sent)
                    if index >= 20:
                        times[side].append(elapsed)
                        trips[side][round_trips] += 1
        refs = budget_configs(on_ws.id)
        reserve, settle = [], []
        for _ in range(count):
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
    finally:
        off_ws.delete()
        on_ws.delete()
    return {
        "store": store,
        "create_budgets_off": {**_pct(times["off"]), "round_trips": dict(trips["off"])},
        "create_budgets_on": {**_pct(times["on"]), "round_trips": dict(trips["on"])},
        "reserve": _pct(reserve),
        "settle": _pct(settle),
    }


def _trips(counts: dict[Any, int]) -> str:
    return ", ".join(f"{n}x {k}" for k, n in sorted(counts.items(), key=lambda kv: int(kv[0])))


def _mean_trips(counts: dict[Any, int]) -> float:
    total = sum(counts.values()) or 1
    return sum(int(k) * n for k, n in counts.items()) / total


def render_budgets(doc: dict[str, Any]) -> list[str]:
    """The "Budgets" section of RESULTS.md, between markers ``--markdown`` replaces."""
    lines = [BEGIN, "", "## Budgets", ""]
    if not doc.get("stores"):
        return [*lines, f"The budgets benchmark produced no result: {doc.get('error')}", END]
    lines += [
        "In-process (`bench/budgets_bench.py`, run by the `budgets` scenario): "
        f"`generation_create` {doc['creates']} times in a workspace without a budget and "
        f"{doc['creates']} times in one with an applicable hard budget, alternating (enqueue "
        "replaced by a no-op, so only the create transaction is timed), then the store's "
        "reserve and settle calls alone. "
        "Redis round trips are counted per create on the client (redis-py sends). "
        f"Measured {doc.get('date', '?')}, load average {doc.get('load_avg', '?')} at the "
        "start (a shared machine: compare the two sides of a row, not rows of two runs).",
        "",
        "| store | create, budgets off p50 / p99 ms | create, budgets on p50 / p99 ms "
        "| on - off p50 ms | reserve p50 / p99 ms | settle p50 / p99 ms "
        "| Redis round trips per create off → on |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in doc["stores"]:
        off, on = row["create_budgets_off"], row["create_budgets_on"]
        lines.append(
            f"| {row['store']} | {off['p50_ms']:.2f} / {off['p99_ms']:.2f} "
            f"| {on['p50_ms']:.2f} / {on['p99_ms']:.2f} | {on['p50_ms'] - off['p50_ms']:+.2f} "
            f"| {row['reserve']['p50_ms']:.3f} / {row['reserve']['p99_ms']:.3f} "
            f"| {row['settle']['p50_ms']:.3f} / {row['settle']['p99_ms']:.3f} "
            f"| {_mean_trips(off['round_trips']):.2f} → {_mean_trips(on['round_trips']):.2f} "
            f"({_trips(off['round_trips'])} → {_trips(on['round_trips'])}) |"
        )
    redis_rows = [r for r in doc["stores"] if r["store"] == "redis"]
    if redis_rows:
        row = redis_rows[0]
        extra = _mean_trips(row["create_budgets_on"]["round_trips"]) - _mean_trips(
            row["create_budgets_off"]["round_trips"]
        )
        verdict = "PASS" if extra <= 1.0 else "FAIL"
        lines += [
            "",
            f"Target: at most one extra Redis round trip per create with budgets on "
            f"(redis store): {extra:+.2f} → **{verdict}**. The database store takes no Redis "
            "round trip of its own; its reserve is a conditional UPDATE in the create "
            "transaction.",
        ]
    return [*lines, "", END]


def run_budgets(env: dict[str, str], creates: int = 300, timeout_s: float = 600) -> dict[str, Any]:
    """Run this benchmark in its own process with ``env``; its JSON document."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), "--creates", str(creates)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    try:
        doc: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"error": f"exit {proc.returncode}: {proc.stderr[-500:]}"}
    return doc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--markdown", type=Path, help="replace its budgets section")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")
    import django

    django.setup()
    from django.conf import settings

    from generations.services import creation

    creation.generation_enqueue = lambda **_: None  # type: ignore[assignment]
    stores = (["redis"] if settings.REDIS_URL else []) + ["database"]
    doc = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load_avg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "creates": args.creates,
        "stores": [_measure(s, args.creates) for s in stores],
    }
    print(json.dumps(doc, indent=2))
    if args.markdown:
        section_replace(args.markdown, BEGIN, END, render_budgets(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
