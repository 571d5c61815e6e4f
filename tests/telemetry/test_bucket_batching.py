"""Statistics counted per process and written within ``GENPIPE_STATS_FLUSH_S``
(``telemetry.buckets.bucket_count``), against the real telemetry Redis."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from telemetry import buckets
from tests.builders import create_body

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

KEY = "generation:stats:test:m:202612011200"
OTHER = "generation:stats:test:h:2026120112"


@pytest.fixture(autouse=True)
def _own_pending(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Each test its own counts and writer thread (a writer asleep for another test's
    # interval would never wake in time); nothing is left for a later test's Redis.
    monkeypatch.setattr(buckets, "_pending", buckets._Pending())
    yield
    buckets._pending.take()


def _raw(client: Any, key: str) -> dict[str, str]:
    return dict(client.hgetall(key))


def test_counts_wait_in_the_process_and_a_read_writes_them_first(settings, telemetry_redis):
    settings.GENPIPE_STATS_FLUSH_S = 3600.0
    buckets.bucket_count({KEY: {"hits": 1}, OTHER: {"hits": 1}}, {KEY: 60, OTHER: 120})
    buckets.bucket_count({KEY: {"hits": 2, "misses": 1}}, {KEY: 90})

    assert _raw(telemetry_redis, KEY) == {}  # nothing sent yet

    assert buckets.buckets_read([KEY, OTHER]) == [{"hits": "3", "misses": "1"}, {"hits": "1"}]
    assert 0 < telemetry_redis.ttl(KEY) <= 90  # the longest lifetime asked for
    assert buckets._pending.take() == ({}, {})


def _counting_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of buckets of each real write (``bucket_add``: one script each)."""
    writes: list[int] = []
    real = buckets.bucket_add

    def counting(increments: Any, ttls: Any) -> bool:
        writes.append(len(increments))
        return real(increments, ttls)

    monkeypatch.setattr(buckets, "bucket_add", counting)
    return writes


def test_the_writer_thread_sends_an_interval_of_counts_in_one_round_trip(
    settings, telemetry_redis, monkeypatch
):
    settings.GENPIPE_STATS_FLUSH_S = 0.2
    writes = _counting_writes(monkeypatch)
    for _ in range(5):
        buckets.bucket_count({KEY: {"hits": 1}}, {KEY: 60})

    deadline = time.monotonic() + 10
    while _raw(telemetry_redis, KEY) != {"hits": "5"} and time.monotonic() < deadline:
        time.sleep(0.05)

    assert _raw(telemetry_redis, KEY) == {"hits": "5"}  # written without any read
    assert writes == [1]  # one write for the five counts


def test_a_failed_write_keeps_its_counts_for_the_next(settings, telemetry_redis, monkeypatch):
    settings.GENPIPE_STATS_FLUSH_S = 3600.0
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    buckets.bucket_count({KEY: {"hits": 2}}, {KEY: 60})
    with monkeypatch.context() as patched:
        patched.setattr(buckets, "telemetry_client", lambda: dead)
        assert buckets.buckets_flush() is False
    buckets.bucket_count({KEY: {"hits": 1}}, {KEY: 60})

    assert buckets.buckets_flush() is True
    assert _raw(telemetry_redis, KEY) == {"hits": "3"}


def test_an_interval_of_zero_writes_each_count_at_once(settings, telemetry_redis):
    settings.GENPIPE_STATS_FLUSH_S = 0.0
    buckets.bucket_count({KEY: {"hits": 1}}, {KEY: 60})

    assert _raw(telemetry_redis, KEY) == {"hits": "1"}
    assert buckets._pending.take() == ({}, {})


def _child_pending(queue: Any) -> None:
    queue.put(buckets._pending.take())


def test_a_forked_child_starts_without_its_parents_counts(settings, telemetry_redis):
    settings.GENPIPE_STATS_FLUSH_S = 3600.0
    buckets.bucket_count({KEY: {"hits": 4}}, {KEY: 60})
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_pending, args=(queue,))
    child.start()
    child.join(20)

    assert queue.get(timeout=5) == ({}, {})  # the parent writes them, not the child too
    assert buckets.buckets_flush() is True
    assert _raw(telemetry_redis, KEY) == {"hits": "4"}


def test_a_create_counts_its_lookup_without_a_statistics_round_trip(
    settings, telemetry_redis, api, staff_api, no_dispatch, monkeypatch
):
    settings.GENPIPE_STATS_FLUSH_S = 3600.0
    writes = _counting_writes(monkeypatch)
    body = create_body(config={"prompt": "batched statistics", "strategy": "once"})
    assert api.post("/api/v1/generations", body, format="json").status_code == 201
    assert api.post("/api/v1/generations", body, format="json").status_code == 200

    assert writes == []  # neither create sent its statistics
    stats = staff_api.get("/api/v1/generations/cache/stats").json()
    assert writes == [3]  # the read wrote them first: cache minute and hour, validation hour
    assert stats["last_1h"]["hits_dedup"] == 1
    assert stats["last_1h"]["misses"] == 1
