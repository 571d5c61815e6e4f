"""Provider faults: a failure storm, one tenant's bad requests, an echoed key, a long wait."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from .fakeprov import Answer, Call, FakeProvider, chat_ok, error
from .stack import wait_until

pytestmark = pytest.mark.chaos
TELEMETRY = "/api/v1/generations/telemetry/providers/"


def telemetry(chaos: Any, provider: str) -> dict[str, Any]:
    response = chaos.api.request("GET", TELEMETRY + provider, user="root")
    assert response.status == 200, response.text[:300]
    return response.body


def wait_rows_terminal(chaos: Any, ids: list[str], timeout: float = 30) -> None:
    def done() -> bool:
        rows = chaos.stack.postgres.query(
            "select count(*) from generations_generation where id::text = any(%s) "
            "and status in ('completed', 'failed', 'cancelled')",
            (ids,),
        )
        return rows[0][0] == len(ids)

    wait_until(done, timeout, f"{len(ids)} generations terminal", step=0.2)


def statuses(chaos: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = chaos.stack.postgres.query(
        "select id::text, status, error_code from generations_generation where id::text = any(%s)",
        (ids,),
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def test_failure_storm_opens_the_breaker_which_closes_by_itself(chaos):
    storm = {"latency_ms": 0, "failure_rate": 1.0, "max_retries": 0}
    provider = chaos.provider(settings=storm, breaker_cooldown_s=2)
    ids = [chaos.api.create(provider).body["id"] for _ in range(20)]
    wait_rows_terminal(chaos, ids)
    report = telemetry(chaos, provider)
    assert report["health"]["state"] == "down", report["health"]
    assert report["breaker"]["state"] == "open", report.get("breaker")

    chaos.stack.provider_save(provider, settings={**storm, "failure_rate": 0.0})
    recovered_by = time.monotonic() + 2 + 10  # cool-down + one probe, with slack
    while True:
        chaos.api.create(provider)  # traffic gives the breaker its probe
        report = telemetry(chaos, provider)
        if report["breaker"]["state"] == "closed" and report["health"]["state"] == "healthy":
            break
        assert time.monotonic() < recovered_by, f"still {report['breaker']} {report['health']}"
        time.sleep(0.5)

    after = [chaos.api.create(provider).body["id"] for _ in range(5)]
    result = chaos.check(max_retries={provider: 0})
    assert {result.rows[i]["status"] for i in after} == {"completed"}


INVALID_MARKER = "[reject-me]"


def reject_marked(call: Call) -> Answer:
    if INVALID_MARKER in call.prompt:
        return error(400, "Invalid prompt: this request is not allowed.")
    return chat_ok(call)


def test_one_workspaces_invalid_requests_never_take_the_provider_down(chaos):
    with FakeProvider(reject_marked) as fake:
        provider = chaos.provider(
            adapter="openai_compatible",
            base_url=fake.url,
            settings={"model": "fake-chat", "max_retries": 1},
        )
        bobs = [
            chaos.api.create(provider, user="bob", kind="dialogue", prompt=f"{INVALID_MARKER} {i}")
            for i in range(8)
        ]
        bob_ids = [r.body["id"] for r in bobs]
        wait_rows_terminal(chaos, bob_ids)
        assert set(statuses(chaos, bob_ids).values()) == {("failed", "provider_invalid_request")}
        assert telemetry(chaos, provider)["health"]["state"] != "down"

        alices = [chaos.api.create(provider, kind="dialogue") for _ in range(5)]
        result = chaos.check(max_retries={provider: 1})
        assert {result.rows[r.body["id"]]["status"] for r in alices} == {"completed"}
        report = telemetry(chaos, provider)
        assert report["health"]["state"] != "down", report["health"]


def echo_key(call: Call) -> Answer:
    key = call.headers.get("Authorization", "")
    if "[500]" in call.prompt:
        return error(500, f"Upstream failed for request headers {call.headers!r}")
    return error(401, f"Incorrect API key provided: {key}")


def redis_values(url: str) -> list[str]:
    """Every key and value in every database of a Redis server, as text."""
    readers = {
        "string": lambda c, k: c.get(k),
        "hash": lambda c, k: c.hgetall(k),
        "list": lambda c, k: c.lrange(k, 0, -1),
        "set": lambda c, k: c.smembers(k),
        "zset": lambda c, k: c.zrange(k, 0, -1, withscores=True),
        "stream": lambda c, k: c.xrange(k),
    }
    out = []
    for db in range(16):
        client = redis.Redis.from_url(url.rsplit("/", 1)[0] + f"/{db}")
        for key in client.scan_iter(count=500):
            read = readers.get(client.type(key).decode(), lambda c, k: b"")
            out.append(f"{key!r} {read(client, key)!r}")
    return out


def test_a_provider_echoing_its_key_never_shows_it(chaos):
    key = chaos.stack.provider_key
    secret = key.removeprefix("sk-chaos-")  # the random part, however it is cut
    with FakeProvider(echo_key) as fake:
        provider = chaos.provider(
            adapter="openai_compatible",
            base_url=fake.url,
            credential_env_var="GENPIPE_CHAOS_PROVIDER_KEY",
            settings={"model": "fake-chat", "max_retries": 0},
        )
        ids = [chaos.api.create(provider, kind="dialogue").body["id"] for _ in range(3)]
        ids += [
            chaos.api.create(provider, kind="dialogue", prompt=f"[500] {i}").body["id"]
            for i in range(2)
        ]
        result = chaos.check(max_retries={provider: 0})
        assert len(fake.calls) == 5 and all(key in c.headers["Authorization"] for c in fake.calls)
    assert {r["status"] for r in result.rows.values()} == {"failed"}

    seen: dict[str, int] = {}
    api_texts = [chaos.api.request("GET", f"/api/v1/generations/{i}").text for i in ids]
    api_texts.append(chaos.api.request("GET", "/api/v1/generations?limit=50").text)
    api_texts.append(chaos.api.request("GET", TELEMETRY + provider, user="root").text)
    api_texts.append(chaos.api.request("GET", TELEMETRY.rstrip("/"), user="root").text)
    seen["API responses"] = sum(secret in t for t in api_texts)
    database = chaos.stack.postgres.query(
        "select (select count(*) from generations_generation g "
        "        where g::text like %(s)s and g.created_at >= %(since)s) + "
        "       (select count(*) from generations_providerattempt a where a::text like %(s)s)",
        {"s": f"%{secret}%", "since": chaos.since},
    )
    seen["database rows"] = int(database[0][0])
    seen["Redis values"] = sum(secret in v for v in redis_values(chaos.stack.env["REDIS_URL"]))
    seen["web log"] = chaos.stack.web.log_since(chaos.web_log_offset).count(secret)
    seen["worker log"] = chaos.stack.worker.log_since(chaos.worker_log_offset).count(secret)
    chaos.emit("key occurrences: " + ", ".join(f"{k} {n}" for k, n in seen.items()))
    assert not any(seen.values()), f"the provider key is visible: {seen}"


def test_a_long_retry_after_survives_a_sweep(chaos):
    def rate_limit_once(call: Call) -> Answer:
        if len(fake.calls) == 1:
            return error(429, "Rate limit reached.", {"Retry-After": "20"})
        return chat_ok(call)

    with FakeProvider(rate_limit_once) as fake:
        provider = chaos.provider(
            adapter="openai_compatible", base_url=fake.url, settings={"model": "fake-chat"}
        )
        generation_id = chaos.api.create(provider, kind="dialogue").body["id"]
        wait_until(lambda: fake.calls, 15, "the first provider call")
        time.sleep(1)
        chaos.emit(chaos.stack.sweep())
        chaos.emit(chaos.stack.sweep("--pending-after", "0.01"))
        status, error_code = statuses(chaos, [generation_id])[generation_id]
        assert (status, error_code) == ("processing", ""), "the sweeper left it waiting"
        assert len(fake.calls) == 1, "not re-enqueued before its Retry-After"

        result = chaos.check(terminal_within_s=30)
        assert result.rows[generation_id]["status"] == "completed"
        assert len(fake.calls) == 2
        assert fake.calls[1].at - fake.calls[0].at >= 19.5, "the retry waited out Retry-After"
