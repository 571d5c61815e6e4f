"""Extension points: features built on the domain plug in here, named in settings.

Budgets, the event feed and experiments sit above ``generations`` in the layers: they
import it, never the reverse. They take part in its flow through three lists of dotted
paths (like Django's middleware), imported once:

- ``GENPIPE_CREATE_GUARDS``: ``guard(generation, prepared)`` runs inside the create
  transaction, before the generation is inserted (its cache slot is claimed already, and
  freed again when a guard refuses); it may change the unsaved generation's fields or
  raise an ``ApiError`` to refuse the create (nothing is written then). A guard that
  needs to undo outside work when the transaction rolls back registers that itself
  (``transaction.on_commit`` runs only on commit). A guard may have a
  ``reads(workspace_id)`` attribute naming the cache keys it will read: they are read
  with the slot's claim, in its round trip, and ``cached(key)`` answers them while the
  guards run (``create_guard_reads``, ``guards_reading``).
- ``GENPIPE_TRANSITION_LISTENERS``: ``listener(change)`` runs after the transaction that
  recorded a status change commits (the creation as ``'' → pending`` included), with a
  ``StatusChange``. A listener that raises is logged; it never fails the transition.
  A listener may also have a ``prepare(change, round)`` attribute (``TransitionRound``):
  called before any listener runs, it names the cache keys the listener will read and the
  wake-ups it publishes, and the dispatch sends them all in one Redis round trip instead
  of one each. While the listeners run, ``cached(key)`` answers the prepared reads and
  ``round_published(...)`` says a prepared publish went out; when the round could not be
  sent (no Redis cache, an error) the listeners do their own reads and publishes. The
  round also carries the telemetry events an open ``telemetry_batch`` holds, when
  telemetry's Redis is the cache's.
- ``GENPIPE_REUSE_LISTENERS``: ``listener(generation, reason)`` runs when a create is
  answered with an existing generation (``reason``: ``cache``, ``dedup``,
  ``idempotency``).
- ``GENPIPE_CACHE_LOOKUP_LISTENERS``: ``listener(outcome, operation_type)`` runs once per
  create that consulted the cache (``outcome``: ``cache``, ``dedup`` or ``miss``), as the
  cache statistics count it.
- ``GENPIPE_ATTEMPT_LISTENERS``: ``listener(attempt)`` runs in the worker after every
  finished provider call, with an ``AttemptFinished`` (where telemetry records it).
- ``GENPIPE_DEMO_EXTENSIONS``: ``extend(workspace=...)`` adds an app's part of the demo
  data after ``load_demo`` filled the demo workspace.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from core.redis_round import Round
from telemetry.recording import Joined, telemetry_batch_join

logger = logging.getLogger("genpipe.hooks")


@dataclass(frozen=True)
class StatusChange:
    """One recorded status change (a ``GenerationEvent`` row), as listeners get it."""

    event_id: int
    generation_id: uuid.UUID
    workspace_id: int
    provider_id: str
    operation_type: str
    from_status: str
    to_status: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class AttemptFinished:
    """One finished provider call (a saved ``ProviderAttempt``), as listeners get it."""

    generation_id: uuid.UUID
    provider_id: str
    operation_type: str
    outcome: str  # succeeded | failed | discarded
    error_code: str
    model: str  # the model that answered, else the provider's configured one ("" unknown)
    latency_ms: int | None
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal
    started_at: datetime
    finished_at: datetime


@cache
def _load(setting: str) -> tuple[Callable[..., Any], ...]:
    return tuple(import_string(path) for path in getattr(settings, setting, ()) or ())


@receiver(setting_changed)
def _reload(*, setting: str, **_: Any) -> None:
    if setting.startswith("GENPIPE_") and setting.endswith(
        ("_GUARDS", "_LISTENERS", "_EXTENSIONS")
    ):
        _load.cache_clear()
        _preparers.cache_clear()
        _readers.cache_clear()


def create_guards() -> tuple[Callable[..., Any], ...]:
    return _load("GENPIPE_CREATE_GUARDS")


def demo_extensions() -> tuple[Callable[..., Any], ...]:
    return _load("GENPIPE_DEMO_EXTENSIONS")


def _notify(setting: str, listeners: tuple[Callable[..., Any], ...], *args: Any) -> None:
    """Call each listener; one that raises is logged and never stops the others."""
    for listener in listeners:
        try:
            listener(*args)
        except Exception:
            logger.exception("%s: %s failed", setting, getattr(listener, "__name__", listener))


class TransitionRound:
    """The Redis work the listeners of one status change declare in ``prepare``: cache
    reads (``read``, keys as given to Django's cache) and ``PUBLISH``es to the cache's
    Redis (``publish``), sent as one pipeline before the listeners run."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.publishes: list[tuple[str, str]] = []
        self.values: dict[str, Any] = {}
        self.sent = False

    def read(self, key: str) -> None:
        if key not in self.keys:
            self.keys.append(key)

    def publish(self, channel: str, message: str) -> None:
        self.publishes.append((channel, message))

    def send(self) -> bool:
        """One round trip (``core.redis_round.Round``) on the default cache's Redis client
        (django-redis only): an ``MGET`` of the reads, then the publishes, then the
        telemetry events an open ``telemetry_batch`` holds when telemetry's Redis is the
        cache's (they would otherwise go in a round trip of their own). ``False`` when it
        could not be sent."""
        backend: Any = getattr(django_cache, "client", None)
        if not hasattr(backend, "get_client") or not hasattr(backend, "decode"):
            return False
        joined: Joined | None = None
        try:
            pipe = Round(backend.get_client(write=True))
            made = [backend.make_key(key) for key in self.keys]
            if made:
                pipe.mget(made)
            for channel, message in self.publishes:
                pipe.publish(channel, message)
            joined = telemetry_batch_join(pipe) if _telemetry_is_cache() else None
            results = pipe.execute()
        except Exception as exc:  # the listeners fall back to their own round trips
            logger.debug("transition round not sent", exc_info=True)
            if joined is not None:
                joined.settle(exc)
            return False
        if joined is not None:
            joined.settle(results[len(results) - joined.count :])
            results = results[: len(results) - joined.count]
        if any(isinstance(result, Exception) for result in results):
            logger.debug("transition round failed: %r", results)
            return False
        self.sent = True  # the publishes went out
        for key, raw in zip(self.keys, results[0] if made else (), strict=True):
            try:
                self.values[key] = None if raw is None else backend.decode(raw)
            except Exception:  # left to the listener's own read (``cached``)
                logger.debug("transition round: %s not decoded", key, exc_info=True)
        return True


_rounds = threading.local()


def cache_redis_location() -> str | None:
    """The default cache's Redis URL when the cache is django-redis on one URL (``None``
    otherwise): where ``TransitionRound`` sends its pipeline."""
    default = settings.CACHES.get("default", {})
    location = default.get("LOCATION")
    if default.get("BACKEND") != "django_redis.cache.RedisCache":
        return None
    return location if isinstance(location, str) else None


def _telemetry_is_cache() -> bool:
    """Whether telemetry's Redis (``REDIS_URL``) is the default cache's, database included."""
    return bool(settings.REDIS_URL) and cache_redis_location() == settings.REDIS_URL


def cached(key: str) -> Any:
    """``cache.get(key)``, answered from the current dispatch's round when a ``prepare``
    read it (``None``: not cached)."""
    current: TransitionRound | None = getattr(_rounds, "current", None)
    if current is not None and key in current.values:
        return current.values[key]
    return django_cache.get(key)


def round_published(channel: str, message: str) -> bool:
    """Whether the current dispatch's round published ``message`` on ``channel``."""
    current: TransitionRound | None = getattr(_rounds, "current", None)
    return current is not None and current.sent and (channel, message) in current.publishes


@cache
def _preparers(setting: str) -> tuple[Callable[..., Any], ...]:
    return tuple(p for p in (getattr(f, "prepare", None) for f in _load(setting)) if p)


@cache
def _readers() -> tuple[Callable[[int], Any], ...]:
    return tuple(r for r in (getattr(g, "reads", None) for g in create_guards()) if r)


def create_guard_reads(workspace_id: int) -> list[str]:
    """The cache keys the create guards will read for a create in this workspace (their
    ``reads`` attributes), to be read in the slot claim's round trip."""
    keys: list[str] = []
    for reads in _readers():
        try:
            keys.extend(key for key in reads(workspace_id) if key not in keys)
        except Exception:
            logger.exception("GENPIPE_CREATE_GUARDS: %s failed", getattr(reads, "__name__", ""))
    return keys


@contextmanager
def guards_reading(values: dict[str, Any]) -> Iterator[None]:
    """While the create guards run, ``cached(key)`` answers the keys of ``values`` (read
    with the slot's claim; a key missing there is read as usual)."""
    outer = getattr(_rounds, "current", None)
    current = TransitionRound()  # nothing to send: only its values are consulted
    current.values = values
    _rounds.current = current
    try:
        yield
    finally:
        _rounds.current = outer


def _round(change: StatusChange, setting: str) -> TransitionRound | None:
    preparers = _preparers(setting)
    if not preparers:
        return None
    current = TransitionRound()
    for prepare in preparers:
        try:
            prepare(change, current)
        except Exception:
            logger.exception("%s: %s.prepare failed", setting, getattr(prepare, "__name__", ""))
    if not (current.keys or current.publishes) or not current.send():
        return None
    return current


def status_changed(change: StatusChange) -> None:
    """Tell every transition listener (call after commit), their prepared Redis work sent
    first in one round trip (``TransitionRound``)."""
    setting = "GENPIPE_TRANSITION_LISTENERS"
    outer = getattr(_rounds, "current", None)
    _rounds.current = _round(change, setting)
    try:
        _notify(setting, _load(setting), change)
    finally:
        _rounds.current = outer


def generation_reused(generation: Any, reason: str) -> None:
    setting = "GENPIPE_REUSE_LISTENERS"
    _notify(setting, _load(setting), generation, reason)


def cache_looked_up(outcome: str, operation_type: str) -> None:
    """Tell every cache lookup listener of one create's lookup outcome."""
    setting = "GENPIPE_CACHE_LOOKUP_LISTENERS"
    _notify(setting, _load(setting), outcome, operation_type)


def attempt_finished(row: Any, *, model: str, finished_at: datetime) -> None:
    """Tell every attempt listener of a finished provider call (``row``: the saved
    ``ProviderAttempt``); nothing is built when no listener is configured."""
    listeners = _load("GENPIPE_ATTEMPT_LISTENERS")
    if not listeners:
        return
    attempt = AttemptFinished(
        generation_id=row.generation_id,
        provider_id=row.provider_id,
        operation_type=row.operation_type,
        outcome=row.outcome,
        error_code=row.error_code,
        model=model,
        latency_ms=row.latency_ms,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=row.cost_usd,
        started_at=row.started_at,
        finished_at=finished_at,
    )
    _notify("GENPIPE_ATTEMPT_LISTENERS", listeners, attempt)
