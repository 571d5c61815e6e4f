"""The create flow of SPEC §4: validate, resolve, canonicalize, hash, dedup, create, enqueue."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from caching.keys import cache_key
from caching.services import (
    cache_slot_claim,
    cache_slot_get,
    cache_slot_get_or_claim,
    cache_slot_release,
    cache_slot_set,
)
from caching.stats import cache_stats_write
from core.errors import ValidationFailed
from telemetry.buckets import BucketWrite, bucket_count, bucket_merge
from telemetry.validation import validation_outcome_write

from ..compiled import transaction_checked_by_first_read
from ..errors import InvalidTransition
from ..hooks import (
    StatusChange,
    cache_looked_up,
    create_guard_reads,
    create_guards,
    generation_reused,
    guards_reading,
    status_changed,
)
from ..models import Generation, GenerationEvent, Provider, Status, Workspace
from ..operations import operation_for
from ..provider_cache import provider_cached
from .canonical import canonicalize, reproducible_hash
from .dispatch import generation_enqueue
from .inserts import generation_rows_insert
from .lookups import reusable_by_hash, reusable_by_hash_or_id, reusable_by_id
from .pricing import cost_estimate
from .prompts import PromptResolution, prompt_assignment_record, prompt_resolve
from .social import social_context_resolve
from .validation import Issue, ValidationReport, request_check


@dataclass(frozen=True)
class PreparedRequest:
    """A structured request after validation, prompt resolution and canonicalization."""

    data: Mapping[str, Any]
    provider: Provider | None
    operation_type: str
    social_context: dict[str, Any] | None
    prompt: PromptResolution
    canonical: dict[str, Any]
    reproducible_hash: str
    cache_key: str | None
    report: ValidationReport


@dataclass(frozen=True)
class _Create:
    """One create request past validation: who asks, in which workspace, for what."""

    workspace: Workspace
    user: AbstractBaseUser | AnonymousUser | None
    prepared: PreparedRequest
    now: datetime
    parent: Generation | None
    retry_count: int
    new_body: bool = False  # generation_create(new_body=...)


@dataclass(frozen=True)
class CreateOutcome:
    generation: Generation
    reused: str | None  # None (created) | "cache" | "dedup" | "idempotency"


def request_prepare(*, workspace: Workspace, data: Mapping[str, Any]) -> PreparedRequest:
    """Steps 3 to 6 of the create flow without writing anything (also serves ``validate``).

    The returned report holds every error; callers decide whether to raise.
    """
    config = data["config"]
    provider_id = data.get("provider_id") or workspace.default_provider_id
    provider = provider_cached(provider_id) if provider_id else None
    social = social_resolve(workspace, data)
    prompt_issues: list[Issue] = []
    try:
        prompt = prompt_resolve(workspace=workspace, data=data, social=social)
    except ValidationFailed as exc:
        prompt = PromptResolution("", "none")
        prompt_issues = [
            Issue(e["code"], name, e["message"]) for name, errs in exc.fields.items() for e in errs
        ]
    report = request_check(
        data,
        provider=provider,
        provider_id=provider_id,
        final_prompt=None if prompt_issues else prompt.final_prompt,
        social_context=social,
    )
    report.errors[:0] = prompt_issues
    operation_type = operation_for(config["generation_type"])
    canonical = canonicalize(
        operation_type=operation_type,
        provider_id=provider_id or "",
        config=config,
        final_prompt=prompt.final_prompt,
        from_scene=data.get("from_scene"),
        to_scene=data.get("to_scene"),
        player_context=data.get("player_context"),
        social_context=social,
    )
    digest = reproducible_hash(canonical)
    player = data.get("player_context") or {}
    key = None
    if not report.errors:
        key = cache_key(
            operation_type=operation_type,
            purpose=config["purpose"],
            from_scene_id=(data.get("from_scene") or {}).get("id"),
            to_scene_id=(data.get("to_scene") or {}).get("id"),
            strategy=config["strategy"],
            version=config.get("version") or 1,
            playthrough_id=player.get("playthrough_id"),
            player_id=player.get("player_id"),
            content_hash=digest,
        )
    return PreparedRequest(
        data, provider, operation_type, social, prompt, canonical, digest, key, report
    )


def social_resolve(workspace: Workspace, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request's social context resolved against the workspace's maximum rating."""
    config = data.get("config") or {}
    return social_context_resolve(
        data.get("social_context") or config.get("social_context"),
        workspace_max_rating=workspace.max_content_rating,
    )


def prepared_estimate(prepared: PreparedRequest) -> Decimal | None:
    """The estimated cost of a prepared request (``None`` without a provider)."""
    if prepared.provider is None:
        return None
    return cost_estimate(
        prepared.provider,
        prepared.operation_type,
        prepared.prompt.final_prompt,
        prepared.data["config"],
    )


def _validation_write(report: ValidationReport, *, source: str, now: datetime) -> BucketWrite:
    return validation_outcome_write(
        source=source,
        valid=report.valid,
        codes={
            "error": [i.code for i in report.errors],
            "warning": [i.code for i in report.warnings],
            "suggestion": [i.code for i in report.suggestions],
        },
        now=now,
    )


def validation_record(report: ValidationReport, *, source: str) -> None:
    """Count a validation outcome for the validation health view (never raises)."""
    bucket_count(*_validation_write(report, source=source, now=timezone.now()))


def _reusable_slot_first(workspace: Workspace, prepared: PreparedRequest) -> CreateOutcome | None:
    # ``_reusable`` without the lock, for a body not seen before: the slot is read first and,
    # when it names a generation, both lookups go in one statement (the hash's row first,
    # as ``_reusable`` looks). Same answers; one statement less on a cache hit. An empty
    # slot is almost always a miss (every create claims its slot), so the hash is not
    # looked up here: the locked look that a miss takes next does it (a dedup hit whose
    # slot expired is then answered under the lock, in one statement as well).
    assert prepared.cache_key is not None
    slot = cache_slot_get(workspace_id=workspace.id, key=prepared.cache_key)
    if slot is None:
        return None
    digest = prepared.reproducible_hash
    found = reusable_by_hash_or_id(workspace_id=workspace.id, digest=digest, generation_id=slot)
    if found is None:
        return None
    return CreateOutcome(found, "dedup" if found.reproducible_hash == digest else "cache")


def _reusable(workspace: Workspace, prepared: PreparedRequest) -> CreateOutcome | None:
    # ``reusable()``: an invalidated generation answers neither lookup (services.invalidation).
    # Both lookups are compiled once per process (services.lookups).
    existing = reusable_by_hash(workspace_id=workspace.id, digest=prepared.reproducible_hash)
    if existing is not None:
        return CreateOutcome(existing, "dedup")
    assert prepared.cache_key is not None
    slot = cache_slot_get(workspace_id=workspace.id, key=prepared.cache_key)
    if slot is None:
        return None
    cached = reusable_by_id(workspace_id=workspace.id, generation_id=slot)
    return None if cached is None else CreateOutcome(cached, "cache")


def _reusable_or_claim(
    workspace: Workspace,
    prepared: PreparedRequest,
    generation_id: str,
    read_done: Callable[[], None],
) -> tuple[CreateOutcome | None, dict[str, Any]]:
    """``_reusable`` under the slot's lock (a PostgreSQL advisory lock held until commit,
    taken in the dedup lookup's round trip), which serializes the creates of one slot.
    ``None``: the slot is now claimed for ``generation_id``, the row the caller inserts
    next (an empty slot is read and claimed in one round trip, with the cache keys the
    create guards will read, given back as the second value)."""
    assert prepared.cache_key is not None
    key, strategy = prepared.cache_key, prepared.data["config"]["strategy"]
    existing = reusable_by_hash(
        workspace_id=workspace.id,
        digest=prepared.reproducible_hash,
        lock=f"{workspace.id}|{key}",
    )
    read_done()  # nothing has been written before this point
    if existing is not None:
        return CreateOutcome(existing, "dedup"), {}
    slot, reads = cache_slot_get_or_claim(
        workspace_id=workspace.id,
        key=key,
        strategy=strategy,
        generation_id=generation_id,
        also_read=create_guard_reads(workspace.id),  # the guards' reads ride along
    )
    if slot is None:
        return None, reads
    cached = reusable_by_id(workspace_id=workspace.id, generation_id=slot)
    if cached is not None:
        return CreateOutcome(cached, "cache"), {}
    # The slot points at a failed/cancelled/invalidated/vanished generation: free it and
    # claim it. Only under the lock: outside it, the slot may be a concurrent create's,
    # claimed before its row commits, and freeing it would make a second generation of the
    # same slot instead of a cache hit (the create holding the lock commits before anyone
    # else looks again).
    cache_slot_release(workspace_id=workspace.id, key=key, generation_id=slot)
    cache_slot_claim(
        workspace_id=workspace.id, key=key, strategy=strategy, generation_id=generation_id
    )
    return None, reads


def _parent(workspace: Workspace, parent_id: uuid.UUID | None) -> Generation | None:
    if parent_id is None:
        return None
    parent = Generation.objects.filter(id=parent_id, workspace=workspace).first()
    if parent is None:
        raise ValidationFailed.single(
            "parent_not_found", "parent_generation_id", "Unknown parent generation."
        )
    return parent


def _insert(request: _Create, generation_id: uuid.UUID) -> Generation:
    prepared, user = request.prepared, request.user
    data, config = prepared.data, prepared.data["config"]
    assert prepared.provider is not None
    generation = Generation(
        id=generation_id,
        workspace=request.workspace,
        created_by_id=user.pk if user is not None and user.is_authenticated else None,
        operation_type=prepared.operation_type,
        provider=prepared.provider,
        purpose=config["purpose"],
        strategy=config["strategy"],
        name=data.get("name") or f"{config['generation_type']} generation",
        description=data.get("description") or "",
        config=_json_ready(data),
        canonical_params=prepared.canonical,
        reproducible_hash=prepared.reproducible_hash,
        cache_key=prepared.cache_key or "",
        prompt_version=prepared.prompt.prompt_version,
        template_variables=prepared.prompt.variables,
        final_prompt=prepared.prompt.final_prompt,
        social_context=prepared.social_context,
        priority=data.get("priority", 5),
        scheduled_at=data.get("scheduled_at"),
        parent=request.parent,
        retry_count=request.retry_count,
        enqueued_at=timezone.now(),  # the task is published when this transaction commits
        estimated_cost_usd=prepared_estimate(prepared) or Decimal("0"),
    )
    for guard in create_guards():  # budgets and the like may refuse (nothing written yet)
        guard(generation, prepared)
    event = GenerationEvent(
        generation=generation,
        from_status="",
        to_status=Status.PENDING,
        reason="created",
        actor=_actor(user),
        at=request.now,
    )
    generation_rows_insert(generation, event)  # one statement on PostgreSQL
    prompt_assignment_record(prepared.prompt)  # a new player's A/B version, now sticky
    change = StatusChange(
        event_id=event.id,
        generation_id=generation.id,
        workspace_id=generation.workspace_id,
        provider_id=generation.provider_id,
        operation_type=generation.operation_type,
        from_status="",
        to_status=Status.PENDING,
        reason=event.reason,
        at=request.now,
    )
    # The task is published first: the worker starts on it while this process tells the
    # listeners (their Redis round is not on the way to the worker).
    generation_enqueue(
        generation_id=str(generation.id),
        priority=generation.priority,
        scheduled_at=generation.scheduled_at,
    )
    transaction.on_commit(lambda: status_changed(change), robust=True)
    return generation


def _actor(user: AbstractBaseUser | AnonymousUser | None) -> str:
    return f"user:{user.get_username()}" if user is not None and user.is_authenticated else "system"


def _json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, uuid.UUID | datetime):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    return value


def generation_create(
    *,
    workspace: Workspace,
    user: AbstractBaseUser | AnonymousUser | None,
    data: Mapping[str, Any],
    parent: Generation | None = None,
    retry_count: int = 0,
    now: datetime | None = None,
    new_body: bool = False,
) -> CreateOutcome:
    """Create a generation from a validated structured request, or reuse one.

    Unless ``force_new`` is set or the strategy is ``always``: a pending, processing or
    completed generation with the same hash in the workspace that was not invalidated
    (``services.invalidation``) is returned (``dedup``), then
    the strategy's cache slot is consulted (``cache``). Concurrent identical requests are
    serialized on their slot, so they coalesce onto one row. A new row is ``pending``, has
    its first event, claims the slot and is enqueued after commit; ``GENPIPE_CREATE_GUARDS``
    may refuse it first, and the transition and reuse listeners are told
    (``generations.hooks``). ``new_body``: the caller has not seen this request before
    (``generations.create_input``), so a hit is likelier the slot's (another request of
    the same scene) than an identical generation's: the slot is read first, and both
    lookups go in one statement (same answers, one statement less on a cache hit).
    Raises ``ValidationFailed`` (400) with every broken rule.
    """
    now = now or timezone.now()
    prepared = request_prepare(workspace=workspace, data=data)
    # The validation outcome and the cache lookup are counted together, once the request
    # is answered or refused: one count per create (written with the process's others).
    stats = [_validation_write(prepared.report, source="create", now=now)]
    try:
        prepared.report.raise_if_invalid()
        parent = parent or _parent(workspace, data.get("parent_generation_id"))
        outcome, looked_up = _reuse_or_create(
            _Create(workspace, user, prepared, now, parent, retry_count, new_body)
        )
        if looked_up:
            stats.append(cache_stats_write(outcome=outcome.reused or "miss", now=now))
    finally:  # outside the transaction: the slot lock is never held for statistics
        bucket_count(*bucket_merge(stats))
    if looked_up:
        cache_looked_up(outcome.reused or "miss", prepared.operation_type)
    if outcome.reused is not None:
        generation_reused(outcome.generation, outcome.reused)
    return outcome


def _reuse_or_create(request: _Create) -> tuple[CreateOutcome, bool]:
    """The outcome, and whether the cache was consulted (counted as a hit or a miss)."""
    prepared = request.prepared
    force_new = bool(prepared.data.get("force_new"))
    looked_up = prepared.cache_key is not None and not force_new
    # Repeats are the common case: answer them without a transaction or the slot lock.
    reused = None
    if looked_up:
        find = _reusable_slot_first if request.new_body else _reusable
        reused = find(request.workspace, prepared)
    if reused is not None:
        return reused, looked_up
    return _create_locked(request, looked_up=looked_up), looked_up


def _create_locked(request: _Create, *, looked_up: bool) -> CreateOutcome:
    """Under the slot's lock: look again, claim the slot, then insert."""
    if not looked_up:
        return _create_in_transaction(request, read_done=None)
    # The locked look is the transaction's first statement, often the request's first:
    # it stands in for the connection's health check (one round trip less).
    return transaction_checked_by_first_read(
        "default", lambda read_done: _create_in_transaction(request, read_done=read_done)
    )


def _create_in_transaction(
    request: _Create, *, read_done: Callable[[], None] | None
) -> CreateOutcome:
    """``read_done`` (the cache was looked up): called once the locked look has answered."""
    workspace, prepared = request.workspace, request.prepared
    key = prepared.cache_key
    generation_id = uuid.uuid4()
    with transaction.atomic():
        if read_done is not None:
            assert key is not None
            # Locked on the slot: another request may have won meanwhile.
            reused, reads = _reusable_or_claim(workspace, prepared, str(generation_id), read_done)
            if reused is not None:
                return reused
            try:
                with guards_reading(reads):
                    return CreateOutcome(_insert(request, generation_id), None)
            except BaseException:  # refused by a guard, say: the slot claimed above is freed
                cache_slot_release(
                    workspace_id=workspace.id, key=key, generation_id=str(generation_id)
                )
                raise
        generation = _insert(request, generation_id)
        if key is not None:  # ``force_new``: the new row takes the slot over
            cache_slot_set(
                workspace_id=workspace.id,
                key=key,
                strategy=prepared.data["config"]["strategy"],
                generation_id=str(generation_id),
            )
    return CreateOutcome(generation, None)


def generation_retry(
    *,
    generation: Generation,
    user: AbstractBaseUser | AnonymousUser | None,
    now: datetime | None = None,
) -> CreateOutcome:
    """A new generation from a failed or cancelled one (409 otherwise).

    The retry has ``parent`` set, ``retry_count + 1`` and always runs fresh
    (``force_new``), taking over the cache slot.
    """
    if generation.status not in (Status.FAILED, Status.CANCELLED):
        raise InvalidTransition(generation.id, generation.status, "retry")
    data = dict(generation.config)  # the validated request, as stored
    data["force_new"] = True
    for transient in ("parent_generation_id", "scheduled_at"):
        data.pop(transient, None)
    return generation_create(
        workspace=generation.workspace,
        user=user,
        data=data,
        parent=generation,
        retry_count=generation.retry_count + 1,
        now=now,
    )
