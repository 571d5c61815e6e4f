"""The integrity ledger every chaos test ends with.

It reads PostgreSQL, the recorded requests and the web log, and checks: every 201 has
exactly one row; every row of the test reaches a terminal state within a bound; one
creation and one terminal event per generation; at most ``max_retries + 1`` counted
provider attempts per provider (abandoned ones aside) and none left ``running``; no 500,
no transport error, every non-2xx a JSON envelope ``{"error": {"code", "message"}}``; no
traceback in a response body or in the web log.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from .load import NOT_JSON, Api, Record
from .stack import Stack

TERMINAL = ("completed", "failed", "cancelled")
DEFAULT_MAX_RETRIES = 2


@dataclass
class LedgerResult:
    text: str
    problems: list[str]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> row facts
    attempts: Counter[str] = field(default_factory=Counter)


def _envelope_ok(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait_terminal(stack: Stack, since: datetime, bound_s: float) -> tuple[float, int]:
    """Seconds until every row since ``since`` is terminal (or the bound), rows still open."""
    started = time.monotonic()
    open_rows = -1
    while True:
        try:
            open_rows = stack.postgres.query(
                "select count(*) from generations_generation where created_at >= %s "
                "and status not in ('completed', 'failed', 'cancelled')",
                (since,),
            )[0][0]
        except psycopg.Error:
            open_rows = -1
        elapsed = time.monotonic() - started
        if open_rows == 0 or elapsed > bound_s:
            return elapsed, open_rows
        time.sleep(0.25)


def ledger_check(
    stack: Stack,
    api: Api,
    *,
    since: datetime,
    web_log_offset: int,
    terminal_within_s: float = 30.0,
    max_retries: dict[str, int] | None = None,
) -> LedgerResult:
    problems: list[str] = []
    waited, still_open = _wait_terminal(stack, since, terminal_within_s)
    if still_open:
        problems.append(f"{still_open} rows not terminal {terminal_within_s:g} s after the fault")

    rows = {
        str(r[0]): {"status": r[1], "provider": r[2], "error_code": r[3], "error": r[4]}
        for r in stack.postgres.query(
            "select id, status, provider_id, error_code, error_message "
            "from generations_generation where created_at >= %s",
            (since,),
        )
    }
    records: list[Record] = list(api.records)
    created = api.created_ids()
    duplicated = [i for i, n in Counter(created).items() if n > 1]
    if duplicated:
        problems.append(f"{len(duplicated)} ids answered 201 twice: {duplicated[:3]}")
    missing = [i for i in created if i not in rows]
    if missing:
        problems.append(f"{len(missing)} 201s without a row: {missing[:3]}")

    events = stack.postgres.query(
        "select e.generation_id, "
        "count(*) filter (where e.from_status = ''), "
        "count(*) filter (where e.to_status in ('completed', 'failed', 'cancelled')) "
        "from generations_generationevent e join generations_generation g "
        "on g.id = e.generation_id where g.created_at >= %s group by e.generation_id",
        (since,),
    )
    chains = {str(g): (c, t) for g, c, t in events}
    bad_chain = [g for g in rows if chains.get(g, (0, 0))[0] != 1]
    if bad_chain:
        problems.append(f"{len(bad_chain)} generations without exactly one creation event")
    bad_end = [g for g in rows if rows[g]["status"] in TERMINAL and chains.get(g, (0, 0))[1] != 1]
    if bad_end:
        problems.append(f"{len(bad_end)} terminal generations without exactly one terminal event")

    attempt_rows = stack.postgres.query(
        "select a.generation_id, a.provider_id, a.outcome, count(*) "
        "from generations_providerattempt a join generations_generation g "
        "on g.id = a.generation_id where g.created_at >= %s group by 1, 2, 3",
        (since,),
    )
    outcomes: Counter[str] = Counter()
    per_provider: Counter[tuple[str, str]] = Counter()
    succeeded: Counter[str] = Counter()
    for generation_id, provider_id, outcome, n in attempt_rows:
        outcomes[outcome] += n
        if outcome != "abandoned":
            per_provider[(str(generation_id), provider_id)] += n
        if outcome == "succeeded":
            succeeded[str(generation_id)] += n
    limits = max_retries or {}
    over = [
        (g, p, n)
        for (g, p), n in per_provider.items()
        if n > limits.get(p, DEFAULT_MAX_RETRIES) + 1
    ]
    if over:
        problems.append(f"{len(over)} generations over max_retries + 1 attempts: {over[:3]}")
    if outcomes["running"]:
        problems.append(f"{outcomes['running']} provider attempts left running")
    twice = [g for g, n in succeeded.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} generations with two successful attempts")
    hollow = [g for g, r in rows.items() if r["status"] == "completed" and not succeeded[g]]
    if hollow:
        problems.append(f"{len(hollow)} completed generations without a successful attempt")

    statuses = Counter(r.status for r in records)
    if statuses[500]:
        problems.append(f"{statuses[500]} responses were 500")
    if statuses[0]:
        first = next(r for r in records if r.status == 0)
        problems.append(f"{statuses[0]} requests got no response ({first.text[:120]})")
    not_envelope = [r for r in records if r.status >= 300 and not _envelope_ok(r.body)]
    if not_envelope:
        sample = not_envelope[0]
        problems.append(
            f"{len(not_envelope)} non-2xx responses outside the envelope, e.g. {sample.status} "
            f"{sample.method} {sample.path}: {sample.text[:160]!r}"
        )
    traced = [r for r in records if "Traceback" in r.text]
    if traced:
        problems.append(f"{len(traced)} responses carry a traceback")
    web_log = stack.web.log_since(web_log_offset)
    if "Traceback" in web_log:
        problems.append(f"{web_log.count('Traceback')} tracebacks in the web log")

    latencies: dict[str, list[float]] = {}
    for r in records:
        kind = "create" if r.method == "POST" else "read"
        latencies.setdefault(kind, []).append(r.latency_s)
    by_status = ", ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
    states = Counter(r["status"] for r in rows.values())
    errors = Counter(r["error_code"] for r in rows.values() if r["error_code"])
    lines = [
        f"requests {len(records)}: {by_status or 'none'}",
        *(
            f"  {kind}: p50 {_pct(v, 0.5) * 1000:.0f} ms, p99 {_pct(v, 0.99) * 1000:.0f} ms, "
            f"max {max(v) * 1000:.0f} ms"
            for kind, v in sorted(latencies.items())
        ),
        f"201s {len(created)}; rows {len(rows)}: "
        + (", ".join(f"{s} {n}" for s, n in sorted(states.items())) or "none")
        + (f"; error codes {dict(errors)}" if errors else ""),
        f"terminal after {waited:.1f} s; attempts: "
        + (", ".join(f"{o} {n}" for o, n in sorted(outcomes.items())) or "none"),
        "checks: " + ("all passed" if not problems else "; ".join(problems)),
    ]
    return LedgerResult("\n".join(lines), problems, rows, outcomes)


def record_summary(records: list[Record]) -> str:
    """One line per distinct (status, error code), for assertion messages."""
    seen = Counter(
        (r.status, r.body["error"].get("code") if _envelope_ok(r.body) else "")
        for r in records
        if r.body is not NOT_JSON
    )
    return ", ".join(f"{s} {c}".strip() + f" x{n}" for (s, c), n in sorted(seen.items()))
