"""Invalidating cache slots: the one definition every path uses (API, admin, command).

Invalidating the slot ``(workspace, key)`` does two things in one database transaction:

1. every pending, processing or completed generation of that workspace filed under
   ``key`` (its ``cache_key``) gets ``invalidated_at``: it no longer answers identical
   requests, neither through deduplication (same reproducible hash) nor through the slot;
2. the slot itself is deleted from the cache.

So the next identical request creates a new generation, which claims the slot again. An
invalidated generation is otherwise untouched: same status, same result, still readable by
id, and one that is still running finishes normally. If the cache cannot be reached, the
transaction is rolled back and ``CacheUnreachable`` (503) is raised: nothing changed.

A request that arrives while an invalidation runs is answered as if it came just before
(the old generation) or just after (a new one): the marks become visible when the slot
delete commits, and a generation created meanwhile is never marked, because the mark only
covers rows that existed when it ran.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from caching.flush import FlushResult, cache_slots_flush
from caching.inventory import StoredSlot
from caching.services import cache_slots_invalidate

from ..models import Generation

# (workspace id, key) pairs per UPDATE: keeps the bound parameters well under SQLite's
# oldest limit (999) whatever the mix of workspaces.
MARK_BATCH = 400


@dataclass(frozen=True)
class SlotsInvalidated:
    deleted: int  # slots that were in the cache
    invalidated: int  # generations that stopped answering identical requests


def _batches(pairs: Iterable[tuple[int, str]]) -> Iterable[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for pair in dict.fromkeys(pairs):  # distinct, in order
        batch.append(pair)
        if len(batch) >= MARK_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _mark(pairs: Sequence[tuple[int, str]], *, now: datetime) -> int:
    """Mark the reusable generations filed under these slots; how many.

    This is what invalidation means; every path reaches it. One UPDATE per
    ``MARK_BATCH`` pairs, through the ``gen_ws_key_live`` index.
    """
    marked = 0
    for start in range(0, len(pairs), MARK_BATCH):
        by_workspace: dict[int, list[str]] = defaultdict(list)
        for workspace_id, key in pairs[start : start + MARK_BATCH]:
            if key:
                by_workspace[int(workspace_id)].append(key)
        if not by_workspace:
            continue
        condition = reduce(
            or_, (Q(workspace_id=ws, cache_key__in=keys) for ws, keys in by_workspace.items())
        )
        marked += Generation.objects.reusable().filter(condition).update(invalidated_at=now)
    return marked


def generation_slots_invalidate(
    *, slots: Iterable[tuple[int, str]], now: datetime | None = None
) -> SlotsInvalidated:
    """Invalidate cache slots given as ``(workspace_id, key)`` pairs (see the module doc).

    Batches of ``MARK_BATCH`` slots, one transaction each. Idempotent: a second call finds
    nothing to delete or mark. Raises ``CacheUnreachable`` when the cache cannot be
    reached (the failing batch changes nothing; earlier batches stay done).
    """
    now = now or timezone.now()
    deleted = invalidated = 0
    for batch in _batches(slots):
        with transaction.atomic():
            invalidated += _mark(batch, now=now)
            deleted += cache_slots_invalidate(slots=batch)
    return SlotsInvalidated(deleted=deleted, invalidated=invalidated)


def generation_slot_invalidate(
    *, workspace_id: int, key: str, now: datetime | None = None
) -> SlotsInvalidated:
    """Invalidate one cache slot: the next identical request generates again.

    ``deleted`` says whether the slot was in the cache; the generations filed under it are
    marked either way (a slot lost with a cache restart still stops answering).
    Raises ``CacheUnreachable`` (503) when the cache cannot be reached: nothing changed.
    """
    return generation_slots_invalidate(slots=[(workspace_id, key)], now=now)


def generation_slots_flush(
    *,
    strategy: str | None = None,
    workspace_id: int | None = None,
    scene: str | None = None,
    key: str | None = None,
    dry_run: bool = False,
    sample_size: int = 50,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> FlushResult:
    """Invalidate every stored slot matching the filters (``caching.flush`` selects them).

    Marks exactly the generations filed under the slots it deletes, batch by batch in the
    delete's transaction (``FlushResult.invalidated`` counts them). Works on Redis and on
    the database cache. Raises ``FlushError`` like ``cache_slots_flush``.
    """
    at = now or timezone.now()

    def invalidate(batch: Sequence[StoredSlot]) -> int:
        return _mark([(slot.workspace_id, slot.cache_key) for slot in batch], now=at)

    return cache_slots_flush(
        invalidate=invalidate,
        strategy=strategy,
        workspace_id=workspace_id,
        scene=scene,
        key=key,
        dry_run=dry_run,
        sample_size=sample_size,
        progress=progress,
    )
