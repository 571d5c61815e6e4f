"""Which generation cache slots are stored right now, whichever cache backend holds them.

django-redis: ``SCAN`` (never ``KEYS``) over the cache's own ``{prefix}:{version}:slot:*``;
the database cache: the cache table's live rows under the same prefix, read in key order,
one page at a time. Keys come back as the cache API sees them,
``slot:{workspace_id}:{cache_key}``. Telemetry (``generation:agg:*``,
``generation:errors:*``) and cache statistics (``generation:stats:*``) live outside the
cache's key prefix, and throttle counters and other cache entries do not start with
``slot:``, so they are never listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connections, router
from django.utils import timezone

from .keys import SLOT_PREFIX

SCAN_LIMIT = 200_000
PAGE_SIZE = 1000
_KEY_PREFIX = "generation:"
# Segments of a cache key after "generation:": operation, purpose, from scene, to scene,
# strategy, [seed], version (see caching.keys).
_STRATEGY, _FROM, _TO = 4, 2, 3
_ESCAPED = re.compile(r"%(25|7C)")


@dataclass(frozen=True)
class StoredSlot:
    """One stored slot, its storage key split into the parts operators filter on."""

    storage_key: str
    workspace_id: int
    cache_key: str
    strategy: str
    from_scene: str | None
    to_scene: str | None


def _unescape(segment: str) -> str | None:
    if segment == "none":
        return None
    return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else "|", segment)


def slot_parse(storage_key: str) -> StoredSlot | None:
    """Split ``slot:{workspace_id}:{cache_key}``; ``None`` if it is not a slot key."""
    if not storage_key.startswith(SLOT_PREFIX):
        return None
    workspace, _, key = storage_key[len(SLOT_PREFIX) :].partition(":")
    if not (workspace.isascii() and workspace.isdigit()) or not key.startswith(_KEY_PREFIX):
        return None
    segments = key[len(_KEY_PREFIX) :].split("|")
    if len(segments) < 6:
        return None
    from_scene, to_scene = _unescape(segments[_FROM]), _unescape(segments[_TO])
    if from_scene is not None and from_scene.startswith("hash:") and to_scene is None:
        from_scene = None  # no scene at all: the position carries the content hash
    return StoredSlot(
        storage_key=storage_key,
        workspace_id=int(workspace),
        cache_key=key,
        strategy=segments[_STRATEGY],
        from_scene=from_scene,
        to_scene=to_scene,
    )


def _database_table() -> str | None:
    from django.conf import settings

    config: dict[str, Any] = settings.CACHES["default"]
    table = str(config.get("LOCATION") or "")
    return table if str(config["BACKEND"]).endswith("DatabaseCache") and table else None


def slots_listable() -> bool:
    """Whether the configured cache backend can list its slots (django-redis, database)."""
    return hasattr(cache, "iter_keys") or _database_table() is not None


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _database_keys(table: str, search: str) -> Iterator[str]:
    """Live rows of the cache table whose key starts with ``make_key(search)``."""
    raw_prefix = cache.make_key(search)
    strip = len(cache.make_key(""))
    connection = connections[router.db_for_read(cache.cache_model_class)]  # type: ignore[attr-defined]
    sql = (
        f"SELECT cache_key FROM {connection.ops.quote_name(table)} "
        "WHERE cache_key LIKE %s ESCAPE '\\' AND expires > %s AND cache_key > %s "
        "ORDER BY cache_key LIMIT %s"
    )
    last = ""
    while True:
        now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
        with connection.cursor() as cursor:
            cursor.execute(sql, [_like_prefix(raw_prefix), now, last, PAGE_SIZE])
            rows = [row[0] for row in cursor.fetchall()]
        for raw in rows:
            if raw.startswith(raw_prefix):
                yield raw[strip:]
        if len(rows) < PAGE_SIZE:
            return
        last = rows[-1]


def slot_keys_iter(*, workspace_id: int | None = None) -> Iterator[str]:
    """Every stored slot key (of one workspace if given), streamed.

    Safe to delete the keys already yielded while iterating. Raises the backend's
    connection or database error when the cache is unreachable, and ``RuntimeError`` for
    a backend that cannot list its keys.
    """
    search = SLOT_PREFIX if workspace_id is None else f"{SLOT_PREFIX}{int(workspace_id)}:"
    if hasattr(cache, "iter_keys"):  # django-redis: SCAN with the cache's own prefix
        yield from cache.iter_keys(f"{search}*", itersize=PAGE_SIZE)
        return
    table = _database_table()
    if table is None:
        raise RuntimeError("the configured cache backend cannot list its keys")
    yield from _database_keys(table, search)


def slot_keys(*, limit: int = SCAN_LIMIT) -> tuple[list[str], bool]:
    """Stored slot keys, at most ``limit`` (the flag says whether the list was cut).

    An unlisted backend gives an empty list.
    """
    if not slots_listable():
        return [], False
    found: list[str] = []
    for key in slot_keys_iter():
        if len(found) >= limit:
            return found, True
        found.append(key)
    return found, False
