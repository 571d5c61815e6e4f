"""Recording on a real Redis: the exact key layout, one round trip, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.redis_round import Round
from telemetry import keys
from telemetry.recording import telemetry_record_attempt, telemetry_record_terminal
from telemetry.store import FAILURES

pytestmark = pytest.mark.redis
AT = datetime(2026, 11, 23, 14, 5, 30, tzinfo=UTC)


def test_attempt_and_terminal_write_the_design_note_keys(telemetry_redis):
    r = telemetry_redis
    assert telemetry_record_attempt(
        provider_id="sandbox",
        operation_type="dialogue",
        succeeded=True,
        tokens_in=12,
        tokens_out=30,
        cost_usd=Decimal("0.000020"),
        at=AT,
    )
    assert telemetry_record_terminal(
        generation_id="g1",
        provider_id="sandbox",
        operation_type="dialogue",
        status="completed",
        latency_ms=840,
        at=AT,
    )
    counters = r.hgetall("generation:agg:provider:sandbox:counters")
    assert counters == {
        "attempts": "1",
        "tokens_in": "12",
        "tokens_out": "30",
        "cost_usd": "0.00002",
        "consecutive_failures": "0",
        "total": "1",
        "completed": "1",
    }
    assert r.hgetall("generation:agg:operation:dialogue:counters")["completed"] == "1"
    assert r.hgetall("generation:agg:provider:sandbox:counters:m:202611231405")["attempts"] == "1"
    assert r.hgetall("generation:agg:provider:sandbox:counters:h:2026112314")["total"] == "1"
    assert 0 < r.ttl("generation:agg:provider:sandbox:counters:m:202611231405") <= 7200
    assert r.zrange("generation:agg:provider:sandbox:latencies", 0, -1, withscores=True) == [
        ("g1", 840.0)
    ]
    assert r.zrange("generation:agg:operation:dialogue:latencies", 0, -1) == ["g1"]


def test_equal_latencies_are_separate_samples(telemetry_redis):
    for gid in ("a", "b", "c"):
        telemetry_record_terminal(
            generation_id=gid,
            provider_id="p",
            operation_type="dialogue",
            status="completed",
            latency_ms=100,
            at=AT,
        )
    assert telemetry_redis.zcard(keys.latencies("provider", "p")) == 3


def test_failures_feed_the_error_hash_and_consecutive_count(telemetry_redis):
    r = telemetry_redis
    for _ in range(2):
        telemetry_record_attempt(
            provider_id="p",
            operation_type="dialogue",
            succeeded=False,
            error_code="rate_limited",
            error_message="429 slow down",
            at=AT,
        )
    error = r.hgetall("generation:errors:provider:p:rate_limited")
    assert error == {"count": "2", "last_error": "429 slow down", "last_seen": AT.isoformat()}
    assert 0 < r.ttl("generation:errors:provider:p:rate_limited") <= 7 * 86400
    assert r.hget(keys.counters("provider", "p"), "consecutive_failures") == "2"
    assert r.hget(keys.counters("provider", "p"), "attempt_failures") == "2"
    telemetry_record_attempt(provider_id="p", operation_type="dialogue", succeeded=True, at=AT)
    assert r.hget(keys.counters("provider", "p"), "consecutive_failures") == "0"


def test_cancelled_is_its_own_counter_without_a_latency_sample(telemetry_redis):
    telemetry_record_terminal(
        generation_id="g",
        provider_id="p",
        operation_type="dialogue",
        status="cancelled",
        latency_ms=50,
        at=AT,
    )
    counters = telemetry_redis.hgetall(keys.counters("provider", "p"))
    assert counters == {"total": "1", "cancelled": "1"}
    assert telemetry_redis.zcard(keys.latencies("provider", "p")) == 0


def test_samples_older_than_the_window_are_trimmed(telemetry_redis):
    telemetry_record_terminal(
        generation_id="old",
        provider_id="p",
        operation_type="dialogue",
        status="completed",
        latency_ms=5,
        at=AT - timedelta(hours=25),
    )
    telemetry_record_terminal(
        generation_id="new",
        provider_id="p",
        operation_type="dialogue",
        status="completed",
        latency_ms=7,
        at=AT,
    )
    assert telemetry_redis.zrange(keys.latencies("provider", "p"), 0, -1) == ["new"]
    assert telemetry_redis.zrange(keys.latency_times("provider", "p"), 0, -1) == ["new"]


def test_one_round_trip_per_event(telemetry_redis, monkeypatch):
    from telemetry import store

    client = store.telemetry_client()
    calls = []
    real = client.execute_command
    monkeypatch.setattr(
        client, "execute_command", lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    )
    telemetry_record_attempt(provider_id="p", operation_type="dialogue", succeeded=True, at=AT)
    telemetry_record_terminal(
        generation_id="g",
        provider_id="p",
        operation_type="dialogue",
        status="completed",
        latency_ms=1,
        at=AT,
    )
    assert calls in (["EVALSHA", "EVALSHA"], ["EVALSHA", "EVAL", "EVALSHA"])


def test_redis_down_is_counted_not_raised(settings):
    from telemetry.store import _client

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    _client.cache_clear()
    before = FAILURES["count"]
    assert (
        telemetry_record_attempt(provider_id="p", operation_type="dialogue", succeeded=True, at=AT)
        is False
    )
    assert FAILURES["count"] == before + 1
    _client.cache_clear()


def test_every_bucket_and_error_key_expires(telemetry_redis):
    r = telemetry_redis
    telemetry_record_terminal(
        generation_id="g",
        provider_id="p",
        operation_type="dialogue",
        status="completed",
        latency_ms=10,
        at=AT,
    )
    for minute in range(3):  # the attempt creates new buckets and reuses the terminal's
        telemetry_record_attempt(
            provider_id="p",
            operation_type="dialogue",
            succeeded=False,
            error_code="timeout",
            at=AT + timedelta(minutes=minute),
        )
    buckets = list(r.scan_iter(match="generation:agg:*:counters:*"))
    assert len(buckets) == 2 * (3 + 1)  # per scope: 3 minute buckets and 1 hour bucket
    for key in buckets:
        limit = keys.MINUTE_TTL_S if ":m:" in key else keys.HOUR_TTL_S
        assert 0 < r.ttl(key) <= limit, key
    for key in r.scan_iter(match="generation:errors:*"):
        assert 0 < r.ttl(key) <= keys.ERROR_TTL_S, key
    assert r.ttl(keys.counters("provider", "p")) == -1  # lifetime totals never expire
    assert r.hgetall("generation:errors:operation:dialogue:timeout")["count"] == "3"


def test_a_bucket_ttl_is_set_when_the_bucket_is_created_not_on_every_write(telemetry_redis):
    r = telemetry_redis
    minute_key = keys.minute_bucket("provider", "p", AT)
    telemetry_record_attempt(provider_id="p", operation_type="dialogue", succeeded=True, at=AT)
    r.expire(minute_key, 100)
    telemetry_record_attempt(provider_id="p", operation_type="dialogue", succeeded=True, at=AT)
    assert r.hget(minute_key, "attempts") == "2"
    assert 0 < r.ttl(minute_key) <= 100


def _completion(*, batch: bool) -> None:
    from contextlib import nullcontext

    from telemetry.recording import telemetry_batch

    with telemetry_batch() if batch else nullcontext():
        telemetry_record_terminal(
            generation_id="g",
            provider_id="p",
            operation_type="dialogue",
            status="completed",
            latency_ms=12,
            at=AT,
        )
        telemetry_record_attempt(
            provider_id="p",
            operation_type="dialogue",
            succeeded=True,
            tokens_in=3,
            cost_usd=Decimal("0.5"),
            at=AT,
        )


def _figures(r) -> dict[str, object]:
    return {
        key: r.hgetall(key) if r.type(key) == "hash" else r.zrange(key, 0, -1, withscores=True)
        for key in r.keys("*")
    }


def test_a_batch_sends_its_events_in_one_round_trip_with_the_same_figures(
    telemetry_redis, monkeypatch
):
    from telemetry import store

    _completion(batch=False)
    alone = _figures(telemetry_redis)
    telemetry_redis.flushdb()
    telemetry_redis.script_flush()  # the batch loads a missing script as a single event does
    rounds: list[tuple[Any, int]] = []
    real = Round.execute

    def counted(self: Round) -> list[Any]:
        rounds.append((self._client, len(self)))
        return real(self)

    monkeypatch.setattr(Round, "execute", counted)
    _completion(batch=True)
    assert _figures(telemetry_redis) == alone
    _completion(batch=True)  # the scripts are loaded now: one round trip, nothing else
    client = store.telemetry_client()
    assert rounds == [(client, 2), (client, 2)]  # both events, on telemetry's Redis
    assert telemetry_redis.hgetall(keys.counters("provider", "p"))["attempts"] == "2"


def test_a_batch_with_redis_down_is_counted_not_raised(settings):
    from telemetry.store import _client

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    _client.cache_clear()
    before = FAILURES["count"]
    _completion(batch=True)
    assert FAILURES["count"] == before + 2
    _client.cache_clear()
