"""The peer comparison: genpipe's figures against LiteLLM's, from the same run.

``peer_ratios`` reads genpipe's scenarios as ``bench/run.py`` stores them
(``results["scenarios"][name]``, with ``cpu`` and ``latency``) and the peer's as
``bench/peer_litellm.py`` stores them (``peer_round_ratios``: the same on the medians of
both sides' rounds); ``render_markdown`` writes RESULTS.md's
"Peer: LiteLLM" section. A figure whose scenario did not run is ``None`` (shown ``-``).
"""

from __future__ import annotations

import statistics
from typing import Any

# id -> (what, genpipe side, LiteLLM side, target on genpipe ÷ LiteLLM: "<=" or "<", value)
COMPARISONS: dict[str, tuple[str, str, str, tuple[str, float] | None]] = {
    "cache_hit_cpu": (
        "cache hit, server CPU ms/req",
        "create_cache_hit gunicorn",
        "litellm_cache_hit proxy",
        ("<=", 0.5),
    ),
    "cold_create_worker_cpu": (
        "cold create + worker vs pass-through, server CPU ms/req",
        "create_cold gunicorn + worker per generation (post_to_completed_c1)",
        "litellm_pass_through proxy",
        ("<=", 1.0),
    ),
    "p2c_p50": (
        "POST→completed vs pass-through at one client, p50 ms",
        "post_to_completed_c1 p50",
        "litellm_pass_through_c1 p50",
        ("<", 1.0),
    ),
    "p2c_p99": (
        "the same, p99 ms",
        "post_to_completed_c1 p99",
        "litellm_pass_through_c1 p99",
        None,
    ),
    "p2c_wait_p50": (
        "POST with `Prefer: wait` → completed vs pass-through at one client (both one "
        "synchronous request), p50 ms",
        "post_to_completed_wait_c1 p50 (ASGI)",
        "litellm_pass_through_c1 p50",
        ("<", 1.0),
    ),
    "p2c_wait_p99": (
        "the same, p99 ms",
        "post_to_completed_wait_c1 p99 (ASGI)",
        "litellm_pass_through_c1 p99",
        None,
    ),
    "noop_cpu": (
        "authenticated no-op, server CPU ms/req",
        "ceiling_noop gunicorn",
        "litellm_noop proxy (GET /v1/models)",
        None,
    ),
    "cache_hit_stack_cpu": (
        "cache hit, stack CPU ms/req",
        "create_cache_hit gunicorn + Celery + PostgreSQL + Redis",
        "litellm_cache_hit proxy + upstream + Redis",
        None,
    ),
}


def _get(scenarios: dict[str, Any], name: str, *path: str) -> float | None:
    value: Any = scenarios.get(name)
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) else None


def genpipe_worker_ms(scenarios: dict[str, Any]) -> float | None:
    """Celery worker CPU per completed generation: post_to_completed_c1's worker CPU over
    its completed operations (one client, one generation each, so the worker did exactly
    those; its idle overhead in the window is included)."""
    celery = _get(scenarios, "post_to_completed_c1", "cpu", "cpu_s", "celery")
    done = _get(scenarios, "post_to_completed_c1", "ok_window")
    return 1000 * celery / done if celery is not None and done else None


def _sides(genpipe: dict[str, Any], peer: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    cold = _get(genpipe, "create_cold", "cpu", "gunicorn_ms_per_req")
    worker = genpipe_worker_ms(genpipe)
    return {
        "cache_hit_cpu": (
            _get(genpipe, "create_cache_hit", "cpu", "gunicorn_ms_per_req"),
            _get(peer, "litellm_cache_hit", "cpu", "proxy_ms_per_req"),
        ),
        "cold_create_worker_cpu": (
            cold + worker if cold is not None and worker is not None else None,
            _get(peer, "litellm_pass_through", "cpu", "proxy_ms_per_req"),
        ),
        "p2c_p50": (
            _get(genpipe, "post_to_completed_c1", "latency", "p50_ms"),
            _get(peer, "litellm_pass_through_c1", "latency", "p50_ms"),
        ),
        "p2c_p99": (
            _get(genpipe, "post_to_completed_c1", "latency", "p99_ms"),
            _get(peer, "litellm_pass_through_c1", "latency", "p99_ms"),
        ),
        "p2c_wait_p50": (
            _get(genpipe, "post_to_completed_wait_c1", "latency", "p50_ms"),
            _get(peer, "litellm_pass_through_c1", "latency", "p50_ms"),
        ),
        "p2c_wait_p99": (
            _get(genpipe, "post_to_completed_wait_c1", "latency", "p99_ms"),
            _get(peer, "litellm_pass_through_c1", "latency", "p99_ms"),
        ),
        "noop_cpu": (
            _get(genpipe, "ceiling_noop", "cpu", "gunicorn_ms_per_req"),
            _get(peer, "litellm_noop", "cpu", "proxy_ms_per_req"),
        ),
        "cache_hit_stack_cpu": (
            _get(genpipe, "create_cache_hit", "cpu", "stack_ms_per_req"),
            _get(peer, "litellm_cache_hit", "cpu", "stack_ms_per_req"),
        ),
    }


def _compared(key: str, genpipe_value: Any, litellm_value: Any) -> dict[str, Any]:
    target = COMPARISONS[key][3]
    ratio = genpipe_value / litellm_value if genpipe_value and litellm_value else None
    met = None
    if ratio is not None and target is not None:
        met = ratio <= target[1] if target[0] == "<=" else ratio < target[1]
    return {
        "genpipe": genpipe_value,
        "litellm": litellm_value,
        "ratio": ratio,
        "target": f"{target[0]} {target[1]:g}" if target else None,
        "met": met,
    }


def peer_ratios(genpipe: dict[str, Any], peer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per comparison: both figures, genpipe ÷ LiteLLM, the target and whether it is met
    (``None`` when a figure is missing or the comparison has no target)."""
    out = {key: _compared(key, *sides) for key, sides in _sides(genpipe, peer).items()}
    out["cold_create_worker_cpu"]["genpipe_worker_ms"] = genpipe_worker_ms(genpipe)
    return out


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def peer_round_ratios(
    genpipe_rounds: list[dict[str, Any]], peer_rounds: list[dict[str, Any]], genpipe: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``peer_ratios`` on medians: each side's figure is the median over its rounds
    (genpipe's ``--rounds``, the peer's as many), so neither rests on one measurement of a
    noisy machine. A genpipe figure no round measured (``Prefer: wait``'s scenarios run
    once) is taken from ``genpipe`` and counts as one measurement, not one per round."""
    genpipe_sides = [_sides(r, {}) for r in genpipe_rounds or [genpipe]]
    once = _sides(genpipe, {})
    peer_sides = [_sides({}, r) for r in peer_rounds]
    out = {}
    for key in COMPARISONS:
        ours = [sides[key][0] for sides in genpipe_sides]
        if all(v is None for v in ours):
            ours = [once[key][0]]
        theirs = [sides[key][1] for sides in peer_sides]
        row = _compared(key, _median(ours), _median(theirs))
        row["rounds"] = [sum(v is not None for v in ours), sum(v is not None for v in theirs)]
        out[key] = row
    return out


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render_markdown(results: dict[str, Any]) -> list[str]:
    """RESULTS.md's "Peer: LiteLLM" section (lines), from ``results["peer"]``."""
    peer = results["peer"]
    sc, ratios = peer["scenarios"], peer["ratios"]
    lines = [
        "",
        "## Peer: LiteLLM",
        "",
        f"`{peer['requirement']}` in its own virtualenv (`bench/out/peer-venv`, installed by "
        "the harness"
        + (f" in {peer['install_s']:.0f} s this run" if peer.get("install_s") else ", kept")
        + f"), proxy `{peer['proxy_flags']}` (uvicorn, its default access log on, like "
        "genpipe's), master key auth, response cache on "
        f"{peer['cache']}, one model routed to `bench/zero_openai.py` (a zero-latency "
        "OpenAI-compatible server, its own process). Measured after genpipe's scenarios with "
        "genpipe's stack stopped, by the same client (closed loop, keep-alive, same "
        f"concurrency and window); {_f(peer.get('start_s'), 0)} s to start, then "
        f"{peer.get('warmup_requests', '-')} unmeasured pass-through requests to warm its "
        "workers. "
        "`litellm_noop` `GET /v1/models`; `litellm_cache_hit` one fixed request answered "
        "before the scenario, every answer checked to be the cached one; "
        "`litellm_pass_through(_c1)` a unique prompt per request (a cache miss, then a "
        "cache write), every answer checked to echo its own prompt.",
        "",
    ]
    if peer.get("error"):
        first = peer["error"].splitlines()[0][:300]
        lines += [f"**The peer run failed**: `{first}` (see bench/out/peer-*.log)", ""]
    lines += [
        "| scenario | conc. | req/s | p50 ms | p95 ms | p99 ms | errors | upstream calls | "
        "proxy CPU ms/req | upstream CPU ms/req | Redis CPU ms/req | stack CPU ms/req | "
        "foreign CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sc.items():
        lat, cpu = r["latency"], r.get("cpu", {})
        per = max(r["requests_window"], 1)
        lines.append(
            f"| {name} | {r['spec']['concurrency']} | {_f(r['rps'], 1)} | "
            f"{_f(lat.get('p50_ms'))} | {_f(lat.get('p95_ms'))} | {_f(lat.get('p99_ms'))} | "
            f"{r['errors']} | {r.get('upstream_chat_requests', '-')} | "
            f"{_f(cpu.get('proxy_ms_per_req'))} | {_f(cpu.get('upstream_ms_per_req'))} | "
            f"{_f(1000 * cpu.get('cpu_s', {}).get('redis', 0.0) / per)} | "
            f"{_f(cpu.get('stack_ms_per_req'))} | {_f(cpu.get('other_pct'), 0)} |"
        )
    lines += [
        "",
        "`upstream calls`: chat completions the zero-latency server received during the "
        "scenario, warm-up included (0 for a cache hit, one per request for a pass-through). "
        "Redis here is the one server of LiteLLM's cache; genpipe's `stack` column counts "
        "every redis-server process of the machine.",
        "",
        "| comparison | genpipe | LiteLLM | genpipe ÷ LiteLLM | target | met |",
        "|---|---|---|---:|---:|---|",
    ]
    for key, (what, genpipe_side, litellm_side, _) in COMPARISONS.items():
        row = ratios[key]
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        lines.append(
            f"| {what} | {genpipe_side}: {_f(row['genpipe'])} | {litellm_side}: "
            f"{_f(row['litellm'])} | {_f(row['ratio'], 3)} | {row['target'] or ''} | {met} |"
        )
    medians = peer.get("round_ratios")
    if medians and max(max(row["rounds"]) for row in medians.values()) > 1:
        lines += [
            "",
            "The same comparisons on medians: each side's figure is the median of its rounds "
            "(genpipe's `--rounds`, then as many rounds of LiteLLM's scenarios), so neither "
            "side rests on one measurement.",
            "",
            "| comparison | genpipe median | LiteLLM median | rounds | genpipe ÷ LiteLLM | "
            "target | met |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for key, (what, *_) in COMPARISONS.items():
            row = medians[key]
            met = {True: "yes", False: "**no**", None: ""}[row["met"]]
            lines.append(
                f"| {what} | {_f(row['genpipe'])} | {_f(row['litellm'])} | "
                f"{row['rounds'][0]} / {row['rounds'][1]} | {_f(row['ratio'], 3)} | "
                f"{row['target'] or ''} | {met} |"
            )
    worker = ratios["cold_create_worker_cpu"].get("genpipe_worker_ms")
    lines += [
        "",
        f"Worker CPU per completed generation: {_f(worker)} ms (post_to_completed_c1's "
        "Celery CPU over its completed operations). The targets are genpipe's performance goals "
        "against this peer, on genpipe ÷ LiteLLM.",
    ]
    return lines
