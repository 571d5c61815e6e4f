"""Where POST → completed spends its time (``bench/run.py --trace``).

Per generation of a ``post_to_completed*`` scenario, the stamps on one wall clock (one
machine): the client's (request sent, first answer, completed seen; ``bench/load.py``),
the row's (``created_at``, ``started_at``, ``completed_at``) and the Celery signals'
(``bench/bench_site/trace.py``: publish, received by the worker, task start and end in the
pool child). ``breakdown`` turns them into the median of each segment; the segments follow
each other, so their medians add up to about the median total.
"""

from __future__ import annotations

from typing import Any

from bench.load import latency_summary

# (label, from stamp, to stamp), in the order a generation meets them
SEGMENTS = (
    ("client sends POST → row created_at (HTTP, auth, validation, dedup)", "sent", "created"),
    ("created_at → publish (insert, events, commit, on_commit)", "created", "publish"),
    ("broker publish (kombu → Redis)", "publish", "published"),
    ("published → worker received (BRPOP, consumer)", "published", "received"),
    ("received → task start (prefork pipe to the child)", "received", "task_start"),
    ("task start → started_at (load, claim)", "task_start", "started"),
    ("started_at → completed_at (provider, completion)", "started", "completed"),
    ("completed_at → committed (completion's transaction)", "completed", "committed"),
    ("committed → wake-up published (transition listeners)", "committed", "woken"),
    ("wake-up published → client has completed", "woken", "seen"),
)
# Beside the path: what the worker child still does after the completion committed.
SIDE_SEGMENTS = (("committed → task end (follow-up, ack; off the path)", "committed", "task_end"),)
TRACE_PREFIX = "bench:trace:"


def trace_clear(redis_url: str) -> None:
    """Delete the trace stamps of earlier scenarios."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{TRACE_PREFIX}*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


def stamps(client_times: dict[str, list[float]], redis_url: str) -> dict[str, dict[str, float]]:
    """Every stamp of the scenario's generations, seconds since the epoch."""
    import redis
    from django.db import connection

    from generations.models import Generation

    rows = Generation.objects.filter(id__in=list(client_times)).values_list(
        "id", "created_at", "started_at", "completed_at"
    )
    out: dict[str, dict[str, float]] = {}
    for gen_id, created, started, completed in rows:
        sent, first, seen = client_times[str(gen_id)]
        out[str(gen_id)] = {"sent": sent, "answered": first, "seen": seen}
        for name, value in (("created", created), ("started", started), ("completed", completed)):
            if value is not None:
                out[str(gen_id)][name] = value.timestamp()
    connection.close()
    client = redis.Redis.from_url(redis_url)
    try:
        pipe = client.pipeline(transaction=False)
        for gen_id in out:
            pipe.hgetall(f"{TRACE_PREFIX}{gen_id}")
        for gen_id, found in zip(out, pipe.execute(), strict=True):
            out[gen_id].update({k.decode(): float(v) for k, v in found.items()})
    finally:
        client.close()
    return out


def breakdown(all_stamps: dict[str, dict[str, float]]) -> dict[str, Any]:
    """p50/p99 of each segment (ms), over the generations that have both of its stamps,
    and of the total (sent → seen)."""
    segments = []
    for label, start, end in SEGMENTS + SIDE_SEGMENTS:
        values = [
            (s[end] - s[start]) * 1000 for s in all_stamps.values() if start in s and end in s
        ]
        segments.append({"segment": label, **latency_summary(values)})
    total = [(s["seen"] - s["sent"]) * 1000 for s in all_stamps.values()]
    return {
        "segments": segments,
        "total": latency_summary(total),
        "sum_of_p50_ms": sum(seg.get("p50_ms", 0.0) for seg in segments[: len(SEGMENTS)]),
        "post_answered_before_completed": sum(
            1 for s in all_stamps.values() if "completed" in s and s["answered"] < s["completed"]
        ),
    }


def render(results: dict[str, Any]) -> list[str]:
    """RESULTS.md lines of the traced scenarios (none when the run was not traced)."""
    traced = {n: r["trace"] for n, r in results.get("scenarios", {}).items() if "trace" in r}
    if not traced:
        return []
    lines = [
        "",
        "## POST → completed, segment by segment (`--trace`)",
        "",
        "Medians of each segment over the same generations (ms); the stamps cost a few "
        "hundred µs each, so these figures come from a traced run, not from the run whose "
        "CPU is reported.",
        "",
        "| segment | " + " | ".join(f"{n} p50 | p99" for n in traced) + " |",
        "|---|" + "---:|---:|" * len(traced),
    ]
    for i, (label, _, _) in enumerate(SEGMENTS + SIDE_SEGMENTS):
        cells = [_p50_p99(t["segments"][i]) for t in traced.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [_p50_p99(t["total"]) for t in traced.values()]
    lines.append("| **total: sent → client has completed** | " + " | ".join(cells) + " |")
    return lines


def _p50_p99(summary: dict[str, Any]) -> str:
    nan = float("nan")
    return f"{summary.get('p50_ms', nan):.2f} | {summary.get('p99_ms', nan):.2f}"
