"""Flush generation cache slots: all of them, or those matching filters.

Only slots (``slot:{workspace_id}:{cache_key}`` in the Django cache) are ever deleted:
telemetry, cache statistics, throttle counters and idempotency markers are other keys and
are never listed (see ``caching.inventory``).

Deleting a slot is half of invalidating it: the caller's ``invalidate`` marks the
generations filed under each batch of slots in the same database transaction as the
batch's delete (``generations.services.invalidation``), so the next identical request
generates again instead of being answered by deduplication.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from .inventory import StoredSlot, slot_keys_iter, slot_parse, slots_listable
from .keys import TTLS

STRATEGIES = tuple(TTLS)  # the strategies that have slots: once, per_playthrough, per_player
PROGRESS_EVERY = 10_000
# Keys per DELETE / DEL: well under SQLite's oldest bound-parameter limit (999).
DELETE_BATCH = 500


class FlushError(Exception):
    """The flush could not run: bad filter, unlistable backend or unreachable cache."""


@dataclass
class FlushResult:
    dry_run: bool
    scanned: int = 0
    matched: int = 0
    deleted: int = 0
    invalidated: int = 0  # generations marked by ``invalidate``
    by_strategy: Counter[str] = field(default_factory=Counter)
    sample: list[StoredSlot] = field(default_factory=list)


def _matches(slot: StoredSlot, *, strategy: str | None, scene: str | None, key: str | None) -> bool:
    if strategy is not None and slot.strategy != strategy:
        return False
    if scene is not None and scene not in (slot.from_scene, slot.to_scene):
        return False
    return key is None or slot.cache_key == key


def _delete(keys: list[str]) -> int:
    deleted = cache.delete_many(keys)  # type: ignore[func-returns-value]
    if hasattr(cache, "iter_keys"):  # django-redis: the number of keys removed
        if deleted is None:  # IGNORE_EXCEPTIONS swallowed a connection error
            raise FlushError("the cache became unreachable while deleting")
        return int(deleted)
    return len(keys)  # the database cache does not count; the rows were live just now


Invalidate = Callable[[Sequence[StoredSlot]], int]


def _delete_batch(batch: list[StoredSlot], invalidate: Invalidate, result: FlushResult) -> None:
    # One transaction: if the cache refuses the delete, the marks are rolled back too.
    with transaction.atomic():
        result.invalidated += invalidate(batch)
        result.deleted += _delete([slot.storage_key for slot in batch])


def cache_slots_flush(
    *,
    invalidate: Invalidate,
    strategy: str | None = None,
    workspace_id: int | None = None,
    scene: str | None = None,
    key: str | None = None,
    dry_run: bool = False,
    sample_size: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> FlushResult:
    """Delete the generation cache slots matching every given filter (all with none).

    ``strategy``: the slot's seed strategy; ``workspace_id``: the workspace it belongs to;
    ``scene``: a scene id in the from *or* to position; ``key``: an exact cache key
    (``generation:…|v1``), in every workspace unless ``workspace_id`` is given.
    ``invalidate(slots)`` is called with each batch of slots before they are deleted, in
    the delete's database transaction, and returns how many generations it marked.
    ``dry_run`` counts and samples without deleting or invalidating.
    ``progress(scanned, matched)`` is called every ``PROGRESS_EVERY`` keys scanned. Keys
    are deleted in batches while the scan goes on (SCAN on Redis, key-ordered pages on the
    database cache), so memory stays flat whatever the number of slots. Idempotent: a
    second run finds nothing.
    Raises ``FlushError`` for an unknown strategy, a malformed key, a backend that cannot
    list keys or an unreachable cache.
    """
    if strategy is not None and strategy not in STRATEGIES:
        raise FlushError(
            f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)} "
            "('always' is never cached)"
        )
    if key is not None and not key.startswith("generation:"):
        raise FlushError(f"{key!r} is not a generation cache key (generation:…|v<version>)")
    if not slots_listable():
        raise FlushError("the configured cache backend cannot list its keys")
    result = FlushResult(dry_run=dry_run)
    batch: list[StoredSlot] = []
    try:
        for storage_key in slot_keys_iter(workspace_id=workspace_id):
            result.scanned += 1
            if progress is not None and result.scanned % PROGRESS_EVERY == 0:
                progress(result.scanned, result.matched)
            slot = slot_parse(storage_key)
            if slot is None or not _matches(slot, strategy=strategy, scene=scene, key=key):
                continue
            result.matched += 1
            result.by_strategy[slot.strategy] += 1
            if len(result.sample) < sample_size:
                result.sample.append(slot)
            if not dry_run:
                batch.append(slot)
                if len(batch) >= DELETE_BATCH:
                    _delete_batch(batch, invalidate, result)
                    batch = []
        if batch:
            _delete_batch(batch, invalidate, result)
    except (RedisError, ConnectionInterrupted, DatabaseError) as exc:
        raise FlushError(f"the cache is unreachable: {type(exc).__name__}: {exc}") from exc
    return result
