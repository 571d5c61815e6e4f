"""Repeated rounds of the ratio scenarios (``bench/run.py --rounds N``).

On a shared 2-core VM the speed of the machine drifts within one run: a no-op measured at
the start and the same no-op measured at the end have differed by 1.7x. A ratio is only
as good as the two measurements it divides, so with ``--rounds N`` the scenarios behind
the issue's ratios run again, N - 1 more times, each round its ceilings next to its
products; each round's ratio divides figures of that round only, and RESULTS.md reports
the median of the rounds, with the lowest and highest. The POST → completed latencies
at one client (``LATENCIES``) are repeated in the rounds as well.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

# (product, ceiling, figure): figure "web" is the serving process's CPU per request,
# "worker" the Celery worker's CPU per successful operation of the window.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("create_cold", "ceiling_noop", "web"),
    ("create_cache_hit", "ceiling_noop", "web"),
    ("create_slot_hit", "ceiling_noop", "web"),
    ("list_1m_first", "ceiling_noop", "web"),
    ("post_to_completed_c1", "ceiling_celery_noop", "worker"),
)


# Latencies the issue sets a target on, repeated in each round too: their medians sit
# beside the ratios' (and feed the peer comparison's medians, bench/peer_report.py).
LATENCIES: tuple[str, ...] = ("post_to_completed_c1", "post_to_completed_wait_c1")


def round_scenarios(chosen: list[str]) -> list[str]:
    """The chosen scenarios that a round repeats, in the order of one pass."""
    wanted = {name for pair in PAIRS for name in pair[:2]} | set(LATENCIES)
    return [name for name in chosen if name in wanted]


def latencies(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per ``LATENCIES`` scenario: each round's p50 and p99, their medians, lowest and
    highest p50 (rounds that did not measure it are left out)."""
    out = []
    for name in LATENCIES:
        measured = [r[name]["latency"] for r in rounds if (r.get(name) or {}).get("latency")]
        p50s = [m["p50_ms"] for m in measured if m.get("p50_ms") is not None]
        p99s = [m["p99_ms"] for m in measured if m.get("p99_ms") is not None]
        if p50s:
            out.append(
                {
                    "scenario": name,
                    "p50s": p50s,
                    "median_p50": statistics.median(p50s),
                    "low": min(p50s),
                    "high": max(p50s),
                    "median_p99": statistics.median(p99s) if p99s else None,
                }
            )
    return out


def figure(result: dict[str, Any] | None, kind: str) -> float | None:
    """CPU ms per request (``web``) or per successful operation on the worker (``worker``)."""
    if not result:
        return None
    if kind == "web":
        value = result.get("cpu", {}).get("gunicorn_ms_per_req")
        return None if value is None else float(value)
    if not result.get("ok_window"):
        return None
    seconds = result.get("cpu", {}).get("cpu_s", {}).get("celery")
    return None if seconds is None else seconds * 1000 / result["ok_window"]


def ratios(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pair: each round's ratio, their median, lowest and highest."""
    out = []
    for product, ceiling, kind in PAIRS:
        values = []
        for scenarios in rounds:
            a, b = figure(scenarios.get(product), kind), figure(scenarios.get(ceiling), kind)
            if a is not None and b:
                values.append(a / b)
        if values:
            out.append(
                {
                    "product": product,
                    "ceiling": ceiling,
                    "kind": kind,
                    "rounds": values,
                    "median": statistics.median(values),
                    "low": min(values),
                    "high": max(values),
                }
            )
    return out


def run_rounds(
    count: int, names: list[str], measure: Callable[[str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rounds 2..count: each scenario of ``names`` measured again, in order."""
    extra = []
    for number in range(2, count + 1):
        print(f"round {number} of {count}", flush=True)
        extra.append({name: measure(name) for name in names})
    return extra


def render(results: dict[str, Any]) -> list[str]:
    """The markdown section of the rounds (empty with one round)."""
    rounds = results.get("rounds") or []
    if len(rounds) < 2:
        return []
    lines = [
        "",
        f"## Ratios, median of {len(rounds)} rounds",
        "",
        "Each round measured the ceiling next to the product (`--rounds`); a ratio divides "
        "two figures of the same round. Web: the serving process's CPU per request; worker: "
        "the Celery worker's CPU per completed generation against a no-op task's.",
        "",
        "| ratio | median | lowest | highest | rounds |",
        "|---|---:|---:|---:|---|",
    ]
    for row in ratios(rounds):
        each = ", ".join(f"{value:.2f}" for value in row["rounds"])
        lines.append(
            f"| {row['product']} ÷ {row['ceiling']} ({row['kind']} CPU) | "
            f"{row['median']:.2f}x | {row['low']:.2f}x | {row['high']:.2f}x | {each} |"
        )
    timed = latencies(rounds)
    if timed:
        lines += [
            "",
            "POST → completed at one client, the same rounds (ms):",
            "",
            "| scenario | median p50 | lowest p50 | highest p50 | median p99 | p50 of each round |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in timed:
            each = ", ".join(f"{value:.2f}" for value in row["p50s"])
            p99 = "-" if row["median_p99"] is None else f"{row['median_p99']:.2f}"
            lines.append(
                f"| {row['scenario']} | {row['median_p50']:.2f} | {row['low']:.2f} | "
                f"{row['high']:.2f} | {p99} | {each} |"
            )
    return lines
