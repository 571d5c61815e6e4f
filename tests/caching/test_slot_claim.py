"""A create's read-or-claim of its slot: one round trip on Redis, the same answers as a
read followed by a set-if-absent, on Redis and on the database cache alike."""

from __future__ import annotations

import time

import pytest

from caching.keys import slot_storage_key, ttl_seconds
from caching.services import (
    cache_slot_claim,
    cache_slot_get,
    cache_slot_get_or_claim,
    cache_slot_release,
)
from tests.caching.backends import point_cache_at_closed_port, use_database_cache

SLOT = {"workspace_id": 7, "key": "transition:gap_fill:a:b:once:v1"}


def test_an_empty_slot_is_claimed_and_a_held_one_answers_its_holder(backend):
    assert cache_slot_get_or_claim(**SLOT, strategy="once", generation_id="gen-1")[0] is None
    assert cache_slot_get(**SLOT) == "gen-1"
    # Held: the holder is answered and the slot is left as it is.
    assert cache_slot_get_or_claim(**SLOT, strategy="once", generation_id="gen-2")[0] == "gen-1"
    assert cache_slot_get(**SLOT) == "gen-1"
    assert not cache_slot_claim(**SLOT, strategy="once", generation_id="gen-3")
    assert cache_slot_release(**SLOT, generation_id="gen-1")
    assert cache_slot_get_or_claim(**SLOT, strategy="once", generation_id="gen-4")[0] is None
    assert cache_slot_get(**SLOT) == "gen-4"


@pytest.mark.redis
@pytest.mark.parametrize("strategy", ["once", "per_playthrough", "per_player"])
def test_a_claim_on_redis_lives_as_long_as_its_strategy_says(db, strategy):
    from django.core.cache import cache

    assert cache_slot_get_or_claim(**SLOT, strategy=strategy, generation_id="gen-1")[0] is None
    lifetime = ttl_seconds(strategy)
    assert lifetime is not None
    assert (
        lifetime - 5 <= cache.ttl(slot_storage_key(SLOT["workspace_id"], SLOT["key"])) <= lifetime
    )


def test_an_unreachable_cache_is_a_miss_that_claims_nothing(settings, db):
    point_cache_at_closed_port(settings)
    started = time.monotonic()
    assert cache_slot_get_or_claim(**SLOT, strategy="once", generation_id="gen-1")[0] is None
    assert time.monotonic() - started < 5


@pytest.mark.redis
def test_other_keys_are_read_in_the_claims_round_trip(db):
    from django.core.cache import cache

    cache.set("budgets:ws:7", [(1, None, "", 5_000_000, "day", True)], 60)
    held, values = cache_slot_get_or_claim(
        **SLOT, strategy="once", generation_id="gen-1", also_read=["budgets:ws:7", "absent"]
    )
    assert held is None and cache_slot_get(**SLOT) == "gen-1"
    assert values == {"budgets:ws:7": [(1, None, "", 5_000_000, "day", True)], "absent": None}
    held, values = cache_slot_get_or_claim(
        **SLOT, strategy="once", generation_id="gen-2", also_read=["absent"]
    )
    assert (held, values) == ("gen-1", {"absent": None})


def test_the_database_cache_leaves_the_other_keys_to_the_caller(settings, db):
    use_database_cache(settings)
    held, values = cache_slot_get_or_claim(
        **SLOT, strategy="once", generation_id="gen-1", also_read=["budgets:ws:7"]
    )
    assert (held, values) == (None, {})
    assert cache_slot_get(**SLOT) == "gen-1"


def test_a_slot_taken_between_the_read_and_the_claim_answers_its_holder(settings, db):
    from django.core.cache import cache as real

    from caching import services

    use_database_cache(settings)
    cache_slot_claim(**SLOT, strategy="once", generation_id="gen-1")

    class Late:
        """The database cache, whose first read comes just before another claim."""

        reads = 0

        def get(self, key):  # type: ignore[no-untyped-def]
            self.reads += 1
            return None if self.reads == 1 else real.get(key)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(real, name)

    late = Late()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "cache", late)
        held, _ = cache_slot_get_or_claim(**SLOT, strategy="once", generation_id="gen-2")
    assert held == "gen-1" and cache_slot_get(**SLOT) == "gen-1"
