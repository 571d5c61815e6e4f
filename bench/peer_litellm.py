"""Peer benchmark (``bench/run.py --peer litellm``): LiteLLM's proxy, measured like genpipe.

LiteLLM's proxy (pinned ``LITELLM_VERSION``, installed by ``venv_ensure`` in its own virtualenv
``bench/out/peer-venv``) with its Redis response cache, routing one model to
``bench/zero_openai.py``, a local zero-latency OpenAI-compatible server. After genpipe's
scenarios (and with genpipe's stack stopped) ``run`` starts both as process groups on
127.0.0.1, drives them with ``bench/load.py``'s closed-loop client and counts CPU from
``/proc`` like ``bench/run.py`` does for gunicorn, then stops them, also on error or Ctrl-C.
``peer_ratios`` sets the figures against the same run's genpipe scenarios.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from bench.load import ScenarioSpec, Target, run_scenario
from bench.peer_ops import CHAT_PATH, MODEL, PeerCpuProbe, chat_body
from bench.peer_report import peer_ratios, peer_round_ratios

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
PEER_VENV = OUT_DIR / "peer-venv"
# 1.106.12: the newest release whose `proxy` extra resolves on PyPI as it stands (1.110
# requires a `litellm-proxy` package PyPI does not have, 1.108 and 1.109 pin
# `litellm-proxy-extras` releases it does not have); it also predates the withdrawn,
# compromised 1.107.0.
LITELLM_VERSION = "1.106.12"
NAMESPACE = "genpipe-bench-litellm"  # every key LiteLLM writes starts with "<NAMESPACE>:"
CACHE_TTL_S = 600
HIT_PROMPT = "bench litellm cache-hit fixed prompt"
START_TIMEOUT_S = 180.0
WARM_WORKERS_S = 4.0
HEALTHCHECK_S = 120
# name -> (op of bench/peer_ops.py, one client instead of --concurrency)
SCENARIOS = {
    "litellm_noop": ("op_models", False),
    "litellm_cache_hit": ("op_chat_hit", False),
    "litellm_pass_through": ("op_chat_miss", False),
    "litellm_pass_through_c1": ("op_chat_miss", True),
}


class Stack(Protocol):  # bench.run.Stack: process groups, stopped by bench/run.py's main
    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Any: ...
    def check_alive(self) -> None: ...
    def stop(self) -> None: ...
    def tail(self, name: str, lines: int = 30) -> str: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--peer",
        choices=("litellm",),
        help="also measure LiteLLM's proxy with its Redis cache (installs it first; not in CI)",
    )
    parser.add_argument(
        "--peer-redis-url",
        help="Redis of LiteLLM's cache (default --redis-url); nothing is flushed: only keys "
        f"under {NAMESPACE}: are deleted, before and after",
    )
    parser.add_argument(
        "--peer-workers", type=int, default=2, help="proxy worker processes (= gunicorn's)"
    )


# --- installation ---------------------------------------------------------------------------


def venv_ensure(venv: Path = PEER_VENV, version: str = LITELLM_VERSION) -> dict[str, Any]:
    """A virtualenv at ``venv`` with ``litellm[proxy]==version``, created when missing or
    of another version (the installed requirement is kept in ``venv/bench-installed.json``).
    """
    requirement = f"litellm[proxy]=={version}"
    marker = venv / "bench-installed.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text())["requirement"] == requirement:
            return {"requirement": requirement, "venv": str(venv), "install_s": None}
    print(f"installing {requirement} into {venv} (about 2 minutes)...", flush=True)
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    log = OUT_DIR / "peer-pip.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        for cmd in (
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                requirement,
            ],
        ):
            done = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed, see {log}")
    install_s = time.monotonic() - started
    marker.write_text(json.dumps({"requirement": requirement, "install_s": install_s}))
    print(f"installed {requirement} in {install_s:.0f} s", flush=True)
    return {"requirement": requirement, "venv": str(venv), "install_s": install_s}


# --- configuration --------------------------------------------------------------------------


def proxy_config(upstream_port: int, redis_url: str, master_key: str) -> dict[str, Any]:
    """LiteLLM's proxy config: ``MODEL`` routed to the zero-latency server, the Redis
    response cache on (keys under ``NAMESPACE``), requests authenticated by ``master_key``."""
    return {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": f"http://127.0.0.1:{upstream_port}/v1",
                    "api_key": "zero-latency-upstream",
                },
            }
        ],
        "litellm_settings": {
            "cache": True,
            "cache_params": {
                "type": "redis",
                "url": redis_url,
                "namespace": NAMESPACE,
                "ttl": CACHE_TTL_S,
            },
        },
        "general_settings": {"master_key": master_key},
    }


def config_text(upstream_port: int, redis_url: str, master_key: str) -> str:
    """``proxy_config`` as the proxy's config file: JSON, which is YAML (the proxy's
    ``yaml.safe_load`` reads it as it is)."""
    return json.dumps(proxy_config(upstream_port, redis_url, master_key), indent=2)


def proxy_cmd(venv: Path, config: Path, port: int, workers: int) -> list[str]:
    """The proxy's command line. ``--timeout_worker_healthcheck``: uvicorn's supervisor
    kills a worker that does not answer its ping within 5 s by default, which a worker
    still importing LiteLLM on a loaded 2-core machine can miss, again and again."""
    return [
        str(venv / "bin" / "litellm"),
        *("--config", str(config), "--host", "127.0.0.1", "--port", str(port)),
        *("--num_workers", str(workers), "--timeout_worker_healthcheck", str(HEALTHCHECK_S)),
    ]


def proxy_env(home: Path) -> dict[str, str]:
    """A clean environment: none of genpipe's variables (a ``DATABASE_URL`` would make the
    proxy migrate that database), no outbound proxy, the bundled model cost map."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "NO_PROXY": "127.0.0.1,localhost",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONUNBUFFERED": "1",
    }


def namespace_clear(redis_url: str, namespace: str = NAMESPACE) -> int:
    """Delete the keys under ``namespace:`` (nothing else); how many there were."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += int(client.unlink(*batch))
                batch.clear()
        if batch:
            deleted += int(client.unlink(*batch))
    finally:
        client.close()
    return deleted


# --- the run --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(
    port: int, method: str, path: str, body: bytes | None = None, key: str = ""
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw[:300].decode(errors="replace")


def wait_ready(stack: Stack, name: str, port: int, path: str, timeout_s: float) -> float:
    """Seconds until ``GET path`` answers 200 (the process must stay alive meanwhile)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        stack.check_alive()
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_json(port, "GET", path)[0] == 200:
                return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"{name} not ready after {timeout_s:.0f} s:\n{stack.tail(name)}")


def upstream_chats(port: int) -> int:
    status, doc = http_json(port, "GET", "/_stats")
    if status != 200:
        raise RuntimeError(f"upstream /_stats answered {status}: {doc}")
    return int(doc["requests"].get(CHAT_PATH, 0))


def warm_cache_hit(port: int, key: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Answer the fixed request once, then wait until the cache answers it (LiteLLM writes
    the cache entry after replying): the params of ``op_chat_hit``."""
    body, expect = chat_body(HIT_PROMPT), f"echo: {HIT_PROMPT}"
    status, doc = http_json(port, "POST", CHAT_PATH, body, key)
    if status != 200 or doc["choices"][0]["message"]["content"] != expect:
        raise RuntimeError(f"LiteLLM's first answer: {status} {doc}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.2)
        again = http_json(port, "POST", CHAT_PATH, body, key)[1]
        if isinstance(again, dict) and again.get("id") == doc["id"]:
            return {"body_bytes": body, "expect": expect, "cached_id": doc["id"]}
    raise RuntimeError(f"LiteLLM's cache never answered the fixed request ({timeout_s:.0f} s)")


def warm_workers(args: argparse.Namespace, target: Target) -> int:
    """Pass-through requests at full concurrency for ``WARM_WORKERS_S``, not measured:
    each proxy worker sets up its upstream client and cache path on its first requests
    (seconds on a loaded machine), as genpipe's workers did in the scenarios before."""
    spec = ScenarioSpec(
        name="litellm_warm_workers",
        op="bench.peer_ops:op_chat_miss",
        concurrency=args.concurrency,
        procs=args.procs,
        duration_s=WARM_WORKERS_S,
        warmup_s=0.0,
    )
    result = run_scenario(target, spec)
    if result["errors"]:
        raise RuntimeError(f"warming LiteLLM's workers: {result['error_samples']}")
    return int(result["requests_total"])


def run(
    args: argparse.Namespace,
    stack: Stack,
    install: dict[str, Any],
    genpipe: dict[str, Any],
    genpipe_rounds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Start the upstream and the proxy, run ``SCENARIOS`` (``--rounds`` times), stop
    both: the ``peer`` entry of results.json (``genpipe``: the same run's scenarios, and
    ``genpipe_rounds`` its rounds, for the ratios). A failure is kept in its ``error``
    (with the scenarios that ran) rather than raised."""
    redis_url = args.peer_redis_url or args.redis_url
    redis_parts = urlsplit(redis_url)
    key = f"sk-bench-{secrets.token_hex(16)}"  # this run's master key, written nowhere else
    up_port, port = free_port(), free_port()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    config = OUT_DIR / "peer-litellm.yaml"
    config.write_text(config_text(up_port, redis_url, key))
    home = OUT_DIR / "peer-home"
    home.mkdir(exist_ok=True)
    out: dict[str, Any] = {
        "peer": "litellm",
        **install,
        "proxy_flags": " ".join(
            proxy_cmd(Path("."), Path("<config>"), 0, args.peer_workers)[1:]
        ).replace("--port 0", "--port <free port>"),
        "cache": f"redis {redis_parts.hostname}:{redis_parts.port}{redis_parts.path} "
        f"namespace {NAMESPACE} ttl {CACHE_TTL_S}s",
        "scenarios": {},
        "rounds": [],
    }
    try:
        out["stale_keys_deleted"] = namespace_clear(redis_url)
        print(f"peer: zero-latency upstream on {up_port}, LiteLLM's proxy on {port}", flush=True)
        upstream = stack.start(
            "peer-upstream",
            [
                sys.executable,
                str(BENCH_DIR / "zero_openai.py"),
                "--port",
                str(up_port),
                "--model",
                MODEL,
            ],
            proxy_env(home),
        )
        wait_ready(stack, "peer-upstream", up_port, "/health", 30)
        proxy = stack.start(
            "peer-litellm",
            proxy_cmd(Path(install["venv"]), config, port, args.peer_workers),
            proxy_env(home),
        )
        out["start_s"] = wait_ready(
            stack, "peer-litellm", port, "/health/liveliness", START_TIMEOUT_S
        )
        hit = warm_cache_hit(port, key)
        out["warmup_requests"] = warm_workers(args, Target("127.0.0.1", port, key))
        print(f"peer ready ({out['start_s']:.0f} s to start, cache hit verified)", flush=True)
        groups = {"proxy": proxy.pid, "upstream": upstream.pid}

        def measure(name: str, op: str, single: bool) -> dict[str, Any]:
            stack.check_alive()
            spec = ScenarioSpec(
                name=name,
                op=f"bench.peer_ops:{op}",
                concurrency=1 if single else args.concurrency,
                procs=args.procs,
                duration_s=args.duration,
                warmup_s=args.warmup,
                params=hit if op == "op_chat_hit" else {},
            )
            probe = PeerCpuProbe(groups, redis_parts.port or 6379)
            before = upstream_chats(up_port)
            result = run_scenario(Target("127.0.0.1", port, key), spec, hook=probe.hook)
            result["upstream_chat_requests"] = upstream_chats(up_port) - before
            result["cpu"] = probe.delta(result["requests_window"])
            result.pop("generation_ids", None)
            lat = result["latency"]
            print(
                f"{name:<24} {result['rps']:8.1f} req/s  p50 {lat.get('p50_ms', 0):7.2f} ms  "
                f"p99 {lat.get('p99_ms', 0):7.2f} ms  proxy CPU "
                f"{result['cpu']['proxy_ms_per_req']:.2f} ms/req  errors {result['errors']}",
                flush=True,
            )
            for sample in result["error_samples"]:
                print(f"    error {sample['status']}: {sample['error'][:200]}", flush=True)
            return result

        # As many rounds as genpipe's (--rounds): the comparisons' medians then rest on as
        # many measurements on each side (peer_report.peer_round_ratios).
        count = max(1, int(getattr(args, "rounds", 1) or 1))
        for number in range(1, count + 1):
            if count > 1:
                print(f"peer round {number} of {count}", flush=True)
            measured: dict[str, Any] = {}
            out["rounds"].append(measured)
            for name, (op, single) in SCENARIOS.items():
                measured[name] = measure(name, op, single)
                if number == 1:
                    out["scenarios"][name] = measured[name]
        stack.check_alive()
    except Exception as exc:  # genpipe's results are still written; Ctrl-C goes through
        out["error"] = f"{type(exc).__name__}: {exc}"
        print(f"peer failed: {out['error']}", flush=True)
    finally:
        stack.stop()
        with contextlib.suppress(Exception):
            namespace_clear(redis_url)
    out["ratios"] = peer_ratios(genpipe, out["scenarios"])
    out["round_ratios"] = peer_round_ratios(genpipe_rounds or [genpipe], out["rounds"], genpipe)
    return out
