"""What the peer benchmark measures: its load ops and its CPU probe.

The ops run in ``bench/load.py``'s client processes (named ``bench.peer_ops:op_chat_hit``
and so on in a ``ScenarioSpec``), on the same keep-alive ``http.client`` connections as
genpipe's, with LiteLLM's ``Authorization: Bearer`` key instead of genpipe's token. Every
answer is checked: a pass-through must carry its own prompt's echo (no other request's
answer), a cache hit must be the very answer cached before the scenario (same ``id``).
``PeerCpuProbe`` counts CPU like ``bench/run.py``'s ``CpuProbe``: ``/proc`` per pid,
process groups, between the edges of the measured window.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.load import Client, Sample, ScenarioSpec

MODEL = "bench-zero"
CHAT_PATH = "/v1/chat/completions"


def chat_body(prompt: str) -> bytes:
    """A chat completion request of ``MODEL`` with one user message."""
    return json.dumps({"model": MODEL, "messages": [{"role": "user", "content": prompt}]}).encode()


# --- load ops (run in bench/load.py's client processes) -------------------------------------


def _chat(client: Client, body: bytes, expect: str, cached_id: str | None) -> Sample:
    client.headers["Authorization"] = f"Bearer {client.target.token}"
    start = time.monotonic()
    status, data = client.request("POST", CHAT_PATH, body)
    try:
        doc = json.loads(data)
        content = doc["choices"][0]["message"]["content"]
        answer_id = doc["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        content = answer_id = None
    end = time.monotonic()
    problem = ""
    if status != 200 or content is None:
        problem = data[:300].decode(errors="replace")
    elif content != expect:
        problem = f"answer {content!r} is not that of this request ({expect!r})"
    elif cached_id is not None and answer_id != cached_id:
        problem = f"not a cache hit: answer {answer_id}, the cached one is {cached_id}"
    if problem:
        return Sample(start, end, False, status, "", "", 0, problem)
    return Sample(start, end, True, status, "hit" if cached_id else "upstream", "", 0, "")


def op_chat_hit(client: Client, spec: ScenarioSpec) -> Sample:
    """The fixed request answered once before the scenario: must come from the cache."""
    params = spec.params
    return _chat(client, params["body_bytes"], params["expect"], params["cached_id"])


def op_chat_miss(client: Client, spec: ScenarioSpec) -> Sample:
    """A unique prompt: a cache miss, answered by the upstream (and then cached)."""
    prompt = f"bench litellm pass-through {uuid.uuid4().hex}"
    return _chat(client, chat_body(prompt), f"echo: {prompt}", None)


def op_models(client: Client, spec: ScenarioSpec) -> Sample:
    """``GET /v1/models``: the proxy's authenticated no-op (lists the configured model)."""
    client.headers["Authorization"] = f"Bearer {client.target.token}"
    start = time.monotonic()
    status, data = client.request("GET", "/v1/models")
    ok = status == 200 and MODEL.encode() in data
    error = "" if ok else data[:300].decode(errors="replace")
    return Sample(start, time.monotonic(), ok, status, "", "", 0, error)


# --- CPU accounting (as bench/run.py's CpuProbe: /proc, per pid, between window edges) --------

CLK_TCK = os.sysconf("SC_CLK_TCK")
COMPONENTS = ("proxy", "upstream", "redis", "client")


def _proc_stats() -> Iterator[tuple[int, int, float, str]]:
    """(pid, pgrp, cpu seconds incl. reaped children, cmdline) of every readable process."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        yield int(entry.name), int(fields[2]), ticks / CLK_TCK, cmdline.decode(errors="replace")


class PeerCpuProbe:
    """CPU seconds of the proxy's and the upstream's process groups, of the Redis server on
    the cache's port (that one server only), of the client processes and of the machine."""

    def __init__(self, groups: dict[str, int], redis_port: int) -> None:
        self.groups = groups
        self.redis_suffix = f":{redis_port}"  # redis-server's title: "redis-server *:6379"
        self.snapshots: dict[str, dict[str, dict[int, float]]] = {}

    def snapshot(self, client_pids: list[int]) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {name: {} for name in COMPONENTS}
        for pid, pgrp, cpu, cmdline in _proc_stats():
            for name, group in self.groups.items():
                if pgrp == group:
                    out[name][pid] = cpu
            words = cmdline.split()
            if (
                words
                and words[0].endswith("redis-server")
                and any(w.endswith(self.redis_suffix) for w in words[1:])
            ):
                out["redis"][pid] = cpu
            if pid in client_pids:
                out["client"][pid] = cpu
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        total = float(sum(values[:8]))
        out["busy"] = {0: (total - values[3] - values[4]) / CLK_TCK}
        out["total"], out["steal"] = {0: total / CLK_TCK}, {0: values[7] / CLK_TCK}
        return out

    def hook(self, edge: str, client_pids: list[int]) -> None:
        self.snapshots[edge] = self.snapshot(client_pids)

    def delta(self, requests: int) -> dict[str, Any]:
        start, end = self.snapshots["start"], self.snapshots["end"]
        diff = {k: sum(cpu - start[k].get(pid, 0.0) for pid, cpu in end[k].items()) for k in end}
        total, busy, steal = diff.pop("total"), diff.pop("busy"), diff.pop("steal")
        diff["other"] = max(0.0, busy - sum(diff[k] for k in COMPONENTS))
        per = max(requests, 1)
        return {
            "cpu_s": diff,
            "machine_busy_pct": 100 * busy / total if total else 0.0,
            "other_pct": 100 * diff["other"] / total if total else 0.0,
            "steal_pct": 100 * steal / total if total else 0.0,
            "proxy_ms_per_req": 1000 * diff["proxy"] / per,
            "upstream_ms_per_req": 1000 * diff["upstream"] / per,
            "stack_ms_per_req": 1000 * (diff["proxy"] + diff["upstream"] + diff["redis"]) / per,
        }
