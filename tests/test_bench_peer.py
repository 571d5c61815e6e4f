"""The peer benchmark's parts that run without LiteLLM: the zero-latency OpenAI-compatible
server (over real HTTP), the load ops against it through bench/load.py, the proxy config,
the Redis namespace cleanup, the CPU probe and the ratios."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from bench import load
from bench.peer_litellm import NAMESPACE, config_text, free_port, namespace_clear, proxy_env
from bench.peer_ops import CHAT_PATH, MODEL, PeerCpuProbe, chat_body
from bench.peer_report import peer_ratios, peer_round_ratios, render_markdown

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def zero_port() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "zero_openai.py"),
            "--port",
            str(port),
            "--model",
            MODEL,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert f"127.0.0.1:{port}/v1" in proc.stdout.readline()  # printed once listening
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, Any]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, json.loads(response.read())


def _chats(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        return int(_call(conn, "GET", "/_stats")[1]["requests"].get(CHAT_PATH, 0))
    finally:
        conn.close()


def test_zero_server_answers_chat_completions_in_openai_shape(zero_port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", zero_port, timeout=10)
    try:
        before = _chats(zero_port)
        first, doc = _call(conn, "POST", CHAT_PATH, chat_body("hello there"))
        assert first.status == 200
        assert first.getheader("Content-Type") == "application/json"
        assert not first.will_close  # keep-alive: the next request reuses the connection
        sock = conn.sock
        assert doc["object"] == "chat.completion"
        assert doc["model"] == MODEL
        [choice] = doc["choices"]
        assert choice["index"] == 0 and choice["finish_reason"] == "stop"
        assert choice["message"]["role"] == "assistant"
        assert choice["message"]["content"] == "echo: hello there"
        usage = doc["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
        parts = {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "be brief"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "in "}, {"type": "text", "text": "parts"}],
                },
            ],
        }
        second, doc2 = _call(conn, "POST", CHAT_PATH, json.dumps(parts).encode())
        assert conn.sock is sock
        assert second.status == 200
        assert doc2["choices"][0]["message"]["content"] == "echo: in parts"
        assert doc2["id"] != doc["id"]
        assert _chats(zero_port) == before + 2

        models, listing = _call(conn, "GET", "/v1/models")
        assert models.status == 200 and [m["id"] for m in listing["data"]] == [MODEL]
        for body, message in (
            (b"{not json", "not valid JSON"),
            (b"[]", "JSON object"),
            (b'{"messages": []}', "messages"),
        ):
            bad, error = _call(conn, "POST", CHAT_PATH, body)
            assert bad.status == 400, body
            assert error["error"]["type"] == "invalid_request_error"
            assert message in error["error"]["message"]
        stream = json.dumps({"messages": [{"role": "user", "content": "x"}], "stream": True})
        assert _call(conn, "POST", CHAT_PATH, stream.encode())[0].status == 400
        missing, error = _call(conn, "GET", "/v1/embeddings")
        assert missing.status == 404 and "no route" in error["error"]["message"]
    finally:
        conn.close()


def test_zero_server_reads_chunked_bodies(zero_port: int) -> None:
    body = chat_body("chunked")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    conn = http.client.HTTPConnection("127.0.0.1", zero_port, timeout=10)
    try:
        response, doc = _call(conn, "POST", CHAT_PATH, chunked, {"Transfer-Encoding": "chunked"})
    finally:
        conn.close()
    assert response.status == 200
    assert doc["choices"][0]["message"]["content"] == "echo: chunked"


def _spec(op: str, params: dict[str, Any] | None = None) -> load.ScenarioSpec:
    return load.ScenarioSpec(
        name=op,
        op=f"bench.peer_ops:{op}",
        concurrency=2,
        procs=1,
        duration_s=0.6,
        warmup_s=0.2,
        params=params or {},
    )


def test_pass_through_op_drives_the_server_through_the_load_client(zero_port: int) -> None:
    before = _chats(zero_port)
    result = load.run_scenario(
        load.Target("127.0.0.1", zero_port, "sk-test"), _spec("op_chat_miss")
    )
    assert result["errors"] == 0
    assert result["ok_window"] > 0
    assert result["tag_counts"] == {"upstream": result["requests_total"]}
    assert _chats(zero_port) - before == result["requests_total"]  # every request reached it


def test_cache_hit_op_fails_answers_that_are_not_the_cached_one(zero_port: int) -> None:
    # The zero server never caches: each answer has a new id, so none is "the cached one".
    body = chat_body("fixed")
    params = {"body_bytes": body, "expect": "echo: fixed", "cached_id": "chatcmpl-elsewhere"}
    result = load.run_scenario(
        load.Target("127.0.0.1", zero_port, "sk-test"), _spec("op_chat_hit", params)
    )
    assert result["requests_total"] > 0
    assert result["errors"] == result["requests_total"]
    assert "not a cache hit" in result["error_samples"][0]["error"]


def test_load_rejects_an_unknown_module_op() -> None:
    with pytest.raises(ValueError, match="unknown op"):
        load.op_func("bench.peer_ops:no_such_op")
    with pytest.raises(ValueError, match="unknown op"):
        load.op_func("no_such_builtin_op")
    assert load.op_func("bench.peer_ops:op_models").__name__ == "op_models"


def test_proxy_config_routes_the_model_to_the_upstream_with_the_redis_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = json.loads(config_text(4321, "redis://127.0.0.1:6417/5", "sk-bench-key"))
    [route] = config["model_list"]
    assert route["model_name"] == MODEL
    assert route["litellm_params"]["model"] == f"openai/{MODEL}"
    assert route["litellm_params"]["api_base"] == "http://127.0.0.1:4321/v1"
    assert config["litellm_settings"]["cache"] is True
    cache = config["litellm_settings"]["cache_params"]
    assert cache["type"] == "redis" and cache["url"] == "redis://127.0.0.1:6417/5"
    assert cache["namespace"] == NAMESPACE and cache["ttl"] > 0
    assert config["general_settings"]["master_key"] == "sk-bench-key"

    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/genpipe")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = proxy_env(tmp_path)
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    assert env["HOME"] == str(tmp_path) and "127.0.0.1" in env["NO_PROXY"]


def _rendered(peer: dict[str, Any], **fields: Any) -> str:
    """RESULTS.md's peer section for these scenarios and ratios."""
    results = {
        "peer": {
            "requirement": "litellm[proxy]==1.0",
            "install_s": None,
            "proxy_flags": "--num_workers 2",
            "cache": "redis",
            "start_s": 12.0,
            "scenarios": peer,
            **fields,
        }
    }
    return "\n".join(render_markdown(results))


def test_the_round_ratios_set_the_medians_of_both_sides_against_each_other() -> None:
    def p2c(p50: float) -> dict[str, Any]:
        return {"post_to_completed_c1": _scenario({"cpu_s": {"celery": 0.3}}, {"p50_ms": p50})}

    def pass_through(p50: float) -> dict[str, Any]:
        return {
            "litellm_pass_through_c1": _scenario({}, {"p50_ms": p50}),
            "litellm_cache_hit": _scenario({"proxy_ms_per_req": 8.0}, {}),
        }

    once = {  # measured outside the rounds: the same figure in each
        "post_to_completed_wait_c1": _scenario({}, {"p50_ms": 15.0}),
        "create_cache_hit": _scenario({"gunicorn_ms_per_req": 3.0}, {}),
    }
    # One slow genpipe round and one slow LiteLLM round: the medians set them aside.
    genpipe_rounds = [p2c(9.0), p2c(30.0), p2c(10.0)]
    peer_rounds = [pass_through(14.0), pass_through(8.0), pass_through(12.0)]
    medians = peer_round_ratios(genpipe_rounds, peer_rounds, {**once, **genpipe_rounds[0]})
    assert medians["p2c_p50"]["genpipe"] == 10.0 and medians["p2c_p50"]["litellm"] == 12.0
    assert medians["p2c_p50"]["ratio"] == pytest.approx(10 / 12)
    assert medians["p2c_p50"]["met"] is True and medians["p2c_p50"]["rounds"] == [3, 3]
    # A single pair of rounds would have said the opposite: 9 against 8.
    assert peer_round_ratios(genpipe_rounds[:1], peer_rounds[1:2], once)["p2c_p50"]["met"] is False
    assert medians["p2c_wait_p50"]["ratio"] == pytest.approx(15 / 12)
    assert medians["p2c_wait_p50"]["rounds"] == [1, 3]  # measured once, counted once
    assert medians["cache_hit_cpu"]["ratio"] == pytest.approx(3 / 8)
    assert medians["noop_cpu"]["ratio"] is None and medians["noop_cpu"]["rounds"] == [0, 0]

    peer = {name: {**r, "upstream_chat_requests": 0} for name, r in peer_rounds[0].items()}
    ratios = peer_ratios({**once, **genpipe_rounds[0]}, peer_rounds[0])
    text = _rendered(peer, ratios=ratios, round_ratios=medians)
    assert "The same comparisons on medians" in text
    assert "| 10.00 | 12.00 | 3 / 3 | 0.833 | < 1 | yes |" in text


@pytest.mark.redis
def test_namespace_clear_deletes_only_the_namespace_keys() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    namespace, other = f"peer-test-{uuid.uuid4().hex}", f"peer-other-{uuid.uuid4().hex}"
    try:
        for i in range(1500):  # more than one UNLINK batch
            client.set(f"{namespace}:{i}", "x")
        client.set(other, "kept")
        client.set(f"{namespace}-lookalike", "kept")
        assert namespace_clear(settings.REDIS_URL, namespace) == 1500
        assert not list(client.scan_iter(match=f"{namespace}:*"))
        assert client.get(other) == b"kept"
        assert client.get(f"{namespace}-lookalike") == b"kept"
    finally:
        client.delete(other, f"{namespace}-lookalike")
        client.close()


def test_cpu_probe_counts_the_process_group() -> None:
    burn = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n"
        "print('burnt', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", burn],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        probe = PeerCpuProbe({"proxy": proc.pid, "upstream": -1}, redis_port=1)
        probe.hook("start", [])
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "burnt\n"
        probe.hook("end", [])
        cpu = probe.delta(requests=10)
        assert 0.29 <= cpu["cpu_s"]["proxy"] < 5
        assert cpu["cpu_s"]["upstream"] == 0 and cpu["cpu_s"]["redis"] == 0
        assert cpu["proxy_ms_per_req"] == pytest.approx(100 * cpu["cpu_s"]["proxy"])
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _scenario(cpu: dict[str, Any], latency: dict[str, float], ok: int = 100) -> dict[str, Any]:
    return {
        "cpu": cpu,
        "latency": latency,
        "ok_window": ok,
        "requests_window": ok,
        "rps": ok / 8,
        "errors": 0,
        "spec": {"concurrency": 8},
    }


def test_peer_ratios_set_genpipe_against_litellm() -> None:
    genpipe = {
        "ceiling_noop": _scenario({"gunicorn_ms_per_req": 2.0}, {}),
        "create_cache_hit": _scenario({"gunicorn_ms_per_req": 3.0, "stack_ms_per_req": 4.0}, {}),
        "create_cold": _scenario({"gunicorn_ms_per_req": 10.0}, {}),
        # 0.3 s of worker CPU over 100 completed generations: 3 ms each
        "post_to_completed_c1": _scenario(
            {"cpu_s": {"celery": 0.3}}, {"p50_ms": 9.0, "p99_ms": 30.0}
        ),
        "post_to_completed_wait_c1": _scenario({}, {"p50_ms": 7.0, "p99_ms": 21.0}),
    }
    peer = {
        "litellm_noop": _scenario({"proxy_ms_per_req": 4.0}, {}),
        "litellm_cache_hit": _scenario({"proxy_ms_per_req": 8.0, "stack_ms_per_req": 8.0}, {}),
        "litellm_pass_through": _scenario({"proxy_ms_per_req": 12.0}, {}),
        "litellm_pass_through_c1": _scenario({}, {"p50_ms": 14.0, "p99_ms": 20.0}),
    }
    ratios = peer_ratios(genpipe, peer)
    assert ratios["cache_hit_cpu"]["ratio"] == pytest.approx(3 / 8)
    assert ratios["cache_hit_cpu"]["met"] is True  # target <= 0.5
    assert ratios["cold_create_worker_cpu"]["genpipe_worker_ms"] == pytest.approx(3.0)
    assert ratios["cold_create_worker_cpu"]["genpipe"] == pytest.approx(13.0)
    assert ratios["cold_create_worker_cpu"]["ratio"] == pytest.approx(13 / 12)
    assert ratios["cold_create_worker_cpu"]["met"] is False  # target <= 1
    assert ratios["p2c_p50"]["ratio"] == pytest.approx(9 / 14)
    assert ratios["p2c_p50"]["met"] is True  # target < 1
    assert ratios["p2c_p99"]["met"] is None  # reported, no target
    assert ratios["p2c_wait_p50"]["ratio"] == pytest.approx(7 / 14)
    assert ratios["p2c_wait_p50"]["met"] is True  # target < 1
    assert ratios["p2c_wait_p99"]["ratio"] == pytest.approx(21 / 20)
    assert ratios["noop_cpu"]["ratio"] == pytest.approx(0.5)
    assert ratios["cache_hit_stack_cpu"]["ratio"] == pytest.approx(0.5)

    del genpipe["post_to_completed_c1"]  # not run: no worker figure, no latency
    partial = peer_ratios(genpipe, peer)
    assert partial["cold_create_worker_cpu"]["ratio"] is None
    assert partial["cold_create_worker_cpu"]["met"] is None
    assert partial["p2c_p50"]["genpipe"] is None and partial["p2c_p50"]["litellm"] == 14.0

    for name in peer:
        peer[name]["cpu"].setdefault("cpu_s", {"redis": 0.01})
        peer[name]["upstream_chat_requests"] = 0
    text = _rendered(peer, ratios=ratios)
    assert "## Peer: LiteLLM" in text
    assert "| cache hit, server CPU ms/req | create_cache_hit gunicorn: 3.00 |" in text
    assert "| 0.375 | <= 0.5 | yes |" in text
    assert "| 1.083 | <= 1 | **no** |" in text


@pytest.mark.redis
def test_a_peer_that_cannot_start_is_reported_and_its_processes_stopped(tmp_path: Path) -> None:
    import argparse

    from bench import peer_litellm
    from bench.run import Stack

    stack = Stack()
    args = argparse.Namespace(
        peer_redis_url=settings.REDIS_URL,
        redis_url=settings.REDIS_URL,
        peer_workers=1,
        concurrency=1,
        procs=1,
        duration=0.2,
        warmup=0.1,
    )
    install = {"requirement": "litellm[proxy]==0", "venv": str(tmp_path), "install_s": None}
    genpipe = {"create_cache_hit": _scenario({"gunicorn_ms_per_req": 3.0}, {})}
    try:
        out = peer_litellm.run(args, stack, install, genpipe)  # no bin/litellm in tmp_path
    finally:
        stack.stop()
    assert out["error"].startswith("FileNotFoundError")
    assert "litellm" in out["error"] and out["scenarios"] == {}
    assert out["ratios"]["cache_hit_cpu"] == {
        "genpipe": 3.0,
        "litellm": None,
        "ratio": None,
        "target": "<= 0.5",
        "met": None,
    }
    assert not stack.procs  # the upstream it had started is stopped
    upstream_log = peer_litellm.OUT_DIR / "peer-upstream.log"
    assert "zero-latency OpenAI server" in upstream_log.read_text()
    config = json.loads((peer_litellm.OUT_DIR / "peer-litellm.yaml").read_text())
    api_base = config["model_list"][0]["litellm_params"]["api_base"]  # the upstream's URL
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", int(api_base.split(":")[2].split("/")[0])), 2)
    assert "**The peer run failed**: `FileNotFoundError" in "\n".join(
        render_markdown({"peer": {**out, "proxy_flags": "-", "cache": "-"}})
    )
