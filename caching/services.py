"""Generation cache slots on the Django cache (django-redis in production).

A slot maps a cache key to the id of the generation that fills it. Slots are claimed with
an atomic set-if-absent when a generation is created, so concurrent identical requests
coalesce, and released (compare-and-delete) when that generation fails or is cancelled.
Every function here treats a cache outage as a miss: it never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import cache

from core.errors import ServiceUnavailable

from .keys import slot_storage_key, ttl_seconds

logger = logging.getLogger("genpipe.cache")

_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _redis_client() -> Any | None:
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client"):
        return None
    return client


def cache_slot_get(*, workspace_id: int, key: str) -> str | None:
    """The generation id in a slot, or ``None`` (also when the cache is unreachable)."""
    try:
        value = cache.get(slot_storage_key(workspace_id, key))
    except Exception:  # a broken cache is a miss
        logger.warning("cache slot read failed", exc_info=True)
        return None
    return str(value) if value else None


def cache_slot_claim(*, workspace_id: int, key: str, strategy: str, generation_id: str) -> bool:
    """Atomically point an empty slot at a generation; ``False`` if it was taken."""
    timeout = ttl_seconds(strategy)
    try:
        return bool(cache.add(slot_storage_key(workspace_id, key), generation_id, timeout))
    except Exception:
        logger.warning("cache slot claim failed", exc_info=True)
        return False


_GET_OR_CLAIM_LUA = """
local holder = redis.call('get', KEYS[1])
if holder then return holder end
if tonumber(ARGV[2]) > 0 then
  redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('set', KEYS[1], ARGV[1])
end
return false
"""


def cache_slot_get_or_claim(
    *,
    workspace_id: int,
    key: str,
    strategy: str,
    generation_id: str,
    also_read: Sequence[str] = (),
) -> tuple[str | None, dict[str, Any]]:
    """The generation id in a slot; if the slot is empty, it is pointed at
    ``generation_id`` and ``None`` is given (one round trip on Redis: the read and the
    claim of ``cache_slot_get`` and ``cache_slot_claim`` in one script). ``None`` also
    when the cache is unreachable (a miss, nothing claimed).

    ``also_read``: other keys of the cache, read in the same round trip on Redis; the
    second value maps each to what the cache holds (``None``: nothing). Empty when they
    were not read (another cache backend, an error): the caller reads them itself."""
    storage_key = slot_storage_key(workspace_id, key)
    timeout = ttl_seconds(strategy)
    try:
        redis_client = _redis_client()
        if redis_client is None:
            held = cache.get(storage_key)
            if not held and cache.add(storage_key, generation_id, timeout):
                return None, {}
            held = held or cache.get(storage_key)  # taken between the read and the add
            return (str(held) if held else None), {}
        pipe = redis_client.get_client(write=True).pipeline(transaction=False)
        pipe.eval(
            _GET_OR_CLAIM_LUA,
            1,
            cache.make_key(storage_key),
            redis_client.encode(generation_id),
            timeout or 0,
        )
        if also_read:
            pipe.mget([cache.make_key(k) for k in also_read])
        held, *read = pipe.execute()
    except Exception:  # a broken cache is a miss
        logger.warning("cache slot read failed", exc_info=True)
        return None, {}
    values: dict[str, Any] = {}
    for name, raw in zip(also_read, read[0] if read else (), strict=True):
        try:
            values[name] = None if raw is None else redis_client.decode(raw)
        except Exception:  # left to the caller's own read
            logger.debug("cache value %s not decoded", name, exc_info=True)
    return (str(redis_client.decode(held)) if held else None), values


def cache_slot_set(*, workspace_id: int, key: str, strategy: str, generation_id: str) -> None:
    """Point a slot at a generation unconditionally (``force_new`` replaces the entry)."""
    try:
        cache.set(slot_storage_key(workspace_id, key), generation_id, ttl_seconds(strategy))
    except Exception:
        logger.warning("cache slot write failed", exc_info=True)


def cache_slot_release(*, workspace_id: int, key: str, generation_id: str) -> bool:
    """Empty a slot only if it still points at ``generation_id``. Returns whether it did."""
    storage_key = slot_storage_key(workspace_id, key)
    try:
        redis_client = _redis_client()
        if redis_client is not None:
            raw = redis_client.get_client(write=True)
            released = raw.eval(
                _RELEASE_LUA, 1, cache.make_key(storage_key), redis_client.encode(generation_id)
            )
            return bool(released)
        if cache.get(storage_key) == generation_id:
            return bool(cache.delete(storage_key))
    except Exception:
        logger.warning("cache slot release failed", exc_info=True)
    return False


class CacheUnreachable(ServiceUnavailable):
    code = "cache_unreachable"

    def __init__(self) -> None:
        super().__init__(
            "The generation cache cannot be reached; nothing was deleted or invalidated."
        )


def cache_slots_invalidate(*, slots: Sequence[tuple[int, str]]) -> int:
    """Empty slots on an operator's request, whatever they hold; how many there were.

    ``slots`` are ``(workspace_id, key)`` pairs. Unlike the pipeline's helpers above, this
    reports an unreachable cache (``CacheUnreachable``, a 503) instead of treating it as a
    miss: the operator must know the slots are still there. Only
    ``generations.services.invalidation`` calls it, in the transaction that marks the
    generations filed under these slots.
    """
    if not slots:
        return 0
    storage_keys = [slot_storage_key(workspace_id, key) for workspace_id, key in slots]
    try:
        if _redis_client() is not None:
            deleted = cache.delete_many(storage_keys)  # type: ignore[func-returns-value]
            if deleted is None:  # django-redis swallowed a connection error (IGNORE_EXCEPTIONS)
                raise CacheUnreachable()
            return int(deleted)
        # Other backends do not count what they delete: look first (same transaction on
        # the database cache).
        present = list(cache.get_many(storage_keys))
        if present:
            cache.delete_many(present)
        return len(present)
    except CacheUnreachable:
        raise
    except Exception as exc:
        logger.warning("cache slot invalidation failed", exc_info=True)
        raise CacheUnreachable() from exc
