"""Budgets in the create flow: the guard that reserves, the listener that settles and
releases, reconciliation, the figures the API shows.

Plugged into ``generations`` through its hooks (``generations.hooks``, settings
``GENPIPE_CREATE_GUARDS``, ``GENPIPE_TRANSITION_LISTENERS``, ``GENPIPE_REUSE_LISTENERS``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from core.errors import ApiError, ServiceUnavailable
from generations import hooks
from generations.hooks import StatusChange
from generations.models import TERMINAL_STATUSES, Generation, ProviderAttempt

from .models import Budget, BudgetEntry
from .money import to_micros, to_usd
from .periods import period_bounds
from .savings import reuse_saving_count
from .store import (
    PENDING_KEY,
    BudgetRef,
    Refusal,
    store_apply,
    store_figures,
    store_name,
    store_reserve,
)

logger = logging.getLogger("genpipe.budgets")

CONFIG_TTL_S = 30


class BudgetExceeded(ApiError):
    status_code = 402
    code = "budget_exceeded"


def _config_key(workspace_id: int) -> str:
    return f"budgets:ws:{workspace_id}"


def budget_configs(workspace_id: int) -> list[BudgetRef]:
    """The workspace's budgets, from the cache (one lookup; ``[]`` is cached too)."""
    key = _config_key(workspace_id)
    cached = hooks.cached(key)
    if cached is not None:
        return [BudgetRef(*row) for row in cached]
    refs = [
        BudgetRef(
            b.id,
            b.provider_id,
            b.operation_type,
            to_micros(b.limit_usd),
            b.period,
            b.mode == "hard",
        )
        for b in Budget.objects.filter(workspace_id=workspace_id).order_by("id")
    ]
    cache.set(key, [tuple(vars(r).values()) for r in refs], CONFIG_TTL_S)
    return refs


def budget_configs_forget(workspace_id: int) -> None:
    cache.delete(_config_key(workspace_id))


def applicable(refs: list[BudgetRef], provider_id: str, operation_type: str) -> list[BudgetRef]:
    return [
        r
        for r in refs
        if r.provider_id in (None, provider_id) and r.operation_type in (None, "", operation_type)
    ]


# --- reserve (the create guard) -------------------------------------------------------------


def _refuse(refusal: Refusal, estimate: int, now: datetime) -> BudgetExceeded:
    budget = refusal.budget
    _, end = period_bounds(budget.period, now)
    detail = {
        "code": "budget_exceeded",
        "message": f"Budget {budget.id} would go over its limit.",
        "budget_id": str(budget.id),
        "limit_usd": str(to_usd(budget.limit_micros)),
        "spent_usd": str(to_usd(refusal.spent_micros)),
        "reserved_usd": str(to_usd(refusal.reserved_micros)),
        "estimate_usd": str(to_usd(estimate)),
        "period": budget.period,
        "resets_at": end.isoformat() if end is not None else "",
    }
    return BudgetExceeded(
        f"This generation (estimated ${to_usd(estimate)}) would take budget {budget.id} over "
        f"its ${to_usd(budget.limit_micros)} {budget.period} limit.",
        fields={"budget": [detail]},
    )


def budget_guard(generation: Generation, prepared: Any) -> None:
    """Create guard: reserve the estimate on every applicable budget, or refuse (402)."""
    refs = applicable(
        budget_configs(generation.workspace_id), generation.provider_id, generation.operation_type
    )
    if not refs:
        return
    now = timezone.now()
    amount = to_micros(generation.estimated_cost_usd or Decimal("0"))
    try:
        refusal = store_reserve(refs, amount, now=now, generation_id=str(generation.id))
    except ApiError:
        raise
    except Exception as exc:
        logger.warning("budget store unavailable: %s: %s", type(exc).__name__, exc)
        raise ServiceUnavailable(
            "Budgets cannot be checked right now; try again.", code="budget_store_unavailable"
        ) from exc
    if refusal is not None:
        raise _refuse(refusal, amount, now)
    BudgetEntry.objects.bulk_create(
        BudgetEntry(
            budget_id=ref.id,
            generation_id=generation.id,
            kind=BudgetEntry.Kind.RESERVATION,
            amount_micros=amount,
            period_start=period_bounds(ref.period, now)[0],
            at=now,
        )
        for ref in refs
    )


def _guard_reads(workspace_id: int) -> list[str]:
    """The guard's one read, made with the slot's claim (``generations.hooks``)."""
    return [_config_key(workspace_id)]


budget_guard.reads = _guard_reads  # type: ignore[attr-defined]


# --- settle and release ---------------------------------------------------------------------


def _attempts_cost(generation_id: uuid.UUID) -> int:
    total = ProviderAttempt.objects.filter(generation_id=generation_id).aggregate(
        total=Sum("cost_usd")
    )["total"]
    return to_micros(total or Decimal("0"))


def _settled(budget_id: int, generation_id: uuid.UUID) -> int:
    total = BudgetEntry.objects.filter(
        budget_id=budget_id, generation_id=generation_id, kind=BudgetEntry.Kind.SETTLEMENT
    ).aggregate(total=Sum("amount_micros"))["total"]
    return int(total or 0)


def generation_settle(generation_id: uuid.UUID, *, now: datetime | None = None) -> int:
    """Settle a terminal generation on its budgets: the actual cost of all its attempts is
    spent, its whole reservation released. Idempotent (one release row per budget); a cost
    that grew after the settlement (a result discarded after a cancel) is added as an
    adjustment. Returns how many budgets changed."""
    now = now or timezone.now()
    reservations = list(
        BudgetEntry.objects.filter(generation_id=generation_id, kind=BudgetEntry.Kind.RESERVATION)
    )
    if not reservations:
        return 0
    actual = _attempts_cost(generation_id)
    changed: list[tuple[BudgetEntry, int, int]] = []
    for reservation in reservations:
        with transaction.atomic():
            spent = actual - _settled(reservation.budget_id, generation_id)
            released = 0
            try:
                with transaction.atomic():
                    BudgetEntry.objects.create(
                        budget_id=reservation.budget_id,
                        generation_id=generation_id,
                        kind=BudgetEntry.Kind.RELEASE,
                        amount_micros=reservation.amount_micros,
                        period_start=reservation.period_start,
                        at=now,
                    )
                released = reservation.amount_micros
            except IntegrityError:
                pass  # released before: only a late cost may be left to add
            if spent:
                BudgetEntry.objects.create(
                    budget_id=reservation.budget_id,
                    generation_id=generation_id,
                    kind=BudgetEntry.Kind.SETTLEMENT,
                    amount_micros=spent,
                    period_start=reservation.period_start,
                    at=now,
                )
            if spent or released:
                changed.append((reservation, spent, released))
            if store_name() == "database" and (spent or released):
                store_apply(
                    reservation.budget_id,
                    reservation.period_start,
                    spent=spent,
                    released=released,
                    generation_id=str(generation_id),
                )
    if store_name() == "redis":
        for reservation, spent, released in changed:
            try:  # after the ledger commit: a crash here is repaired from the ledger
                store_apply(
                    reservation.budget_id,
                    reservation.period_start,
                    spent=spent,
                    released=released,
                    generation_id=str(generation_id),
                )
            except Exception:
                logger.exception("budget counters not updated for %s", generation_id)
                _forget_counters(reservation.budget_id, reservation.period_start)
    if changed:
        from .alerts import budget_alerts_check

        for budget_id in {r.budget_id for r, _, _ in changed}:
            budget_alerts_check(budget_id, now=now)
    return len(changed)


def _forget_counters(budget_id: int, start: datetime) -> None:
    from .store import _client, counter_key

    try:
        _client().delete(counter_key(budget_id, start))
    except Exception:
        logger.warning("could not drop the budget counters of %s", budget_id)


def budget_transition_listener(change: StatusChange) -> None:
    """Transition listener: a terminal status settles and releases.

    A workspace without budgets (one cache lookup, ``budget_configs``) has no reservation
    to settle: deleting a budget deletes its ledger with it.
    """
    if change.to_status in TERMINAL_STATUSES and budget_configs(change.workspace_id):
        generation_settle(change.generation_id, now=change.at)


def _transition_prepare(change: StatusChange, batch: hooks.TransitionRound) -> None:
    """A terminal status reads the budgets in the transition's round (``generations.hooks``)."""
    if change.to_status in TERMINAL_STATUSES:
        batch.read(_config_key(change.workspace_id))


budget_transition_listener.prepare = _transition_prepare  # type: ignore[attr-defined]


def budget_reuse_listener(generation: Generation, reason: str) -> None:
    """Reuse listener: count what answering from an existing generation saved."""
    if reason not in ("cache", "dedup"):
        return
    saved = generation.cost_usd or generation.estimated_cost_usd or Decimal("0")
    reuse_saving_count(generation.workspace_id, timezone.now().date(), saved)


# --- reconciliation -------------------------------------------------------------------------

PENDING_GRACE_S = 60


def budget_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Repair what a crash could leave (periodic task):

    - a reservation of a terminal or vanished generation without a release is settled;
    - a late cost (attempts that cost more than settled, e.g. discarded results) is added;
    - with Redis, a pending reservation older than a minute whose ledger row does not
      exist (its create rolled back) is released from the counters.
    """
    now = now or timezone.now()
    released = 0
    live = Generation.objects.filter(id=OuterRef("generation_id")).exclude(
        status__in=TERMINAL_STATUSES
    )
    releases = BudgetEntry.objects.filter(
        budget_id=OuterRef("budget_id"),
        generation_id=OuterRef("generation_id"),
        kind=BudgetEntry.Kind.RELEASE,
    )
    open_ids = set(
        BudgetEntry.objects.filter(kind=BudgetEntry.Kind.RESERVATION)
        .filter(~Exists(releases), ~Exists(live))
        .values_list("generation_id", flat=True)[:1000]
    )
    recent = now - timedelta(days=2)
    late_ids = set(
        BudgetEntry.objects.filter(kind=BudgetEntry.Kind.RELEASE, at__gte=recent)
        .filter(
            Exists(
                ProviderAttempt.objects.filter(
                    generation_id=OuterRef("generation_id"),
                    outcome=ProviderAttempt.Outcome.DISCARDED,
                )
            )
        )
        .values_list("generation_id", flat=True)[:1000]
    )
    for generation_id in open_ids | late_ids:
        released += generation_settle(generation_id, now=now)
    dropped = _reconcile_pending(now) if store_name() == "redis" else 0
    return {"settled": released, "rolled_back": dropped}


def _reconcile_pending(now: datetime) -> int:
    from .store import _client, counter_key

    client = _client()
    cutoff = (now - timedelta(seconds=PENDING_GRACE_S)).timestamp()
    members = client.zrangebyscore(PENDING_KEY, "-inf", cutoff, start=0, num=1000)
    dropped = 0
    for member in members:
        tag, generation_id, amount = member.split("|")
        budget_id, start_ts = (int(x) for x in tag.split(":"))
        reserved = BudgetEntry.objects.filter(
            budget_id=budget_id, generation_id=generation_id, kind=BudgetEntry.Kind.RESERVATION
        ).exists()
        if reserved:  # committed: its release takes it off (or already did)
            client.zrem(PENDING_KEY, member)
            continue
        start = datetime.fromtimestamp(start_ts, tz=timezone.get_current_timezone())
        key = counter_key(budget_id, start)
        pipe = client.pipeline()
        if client.exists(key):
            pipe.hincrby(key, "reserved", -int(amount))
        pipe.zrem(PENDING_KEY, member)
        pipe.execute()
        dropped += 1
    return dropped


# --- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetFigures:
    spent_usd: Decimal
    reserved_usd: Decimal
    remaining_usd: Decimal
    period_start: datetime | None
    period_end: datetime | None
    forecast_usd: Decimal


def budget_figures(budget: Budget, *, now: datetime | None = None) -> BudgetFigures:
    now = now or timezone.now()
    start, end = period_bounds(budget.period, now)
    spent, reserved = store_figures(budget, now=now)
    limit = to_micros(budget.limit_usd)
    return BudgetFigures(
        spent_usd=to_usd(spent),
        reserved_usd=to_usd(reserved),
        remaining_usd=to_usd(max(0, limit - spent - reserved)),
        period_start=None if budget.period == Budget.Period.TOTAL else start,
        period_end=end,
        forecast_usd=to_usd(forecast_micros(spent, start, end, now)),
    )


def forecast_micros(spent: int, start: datetime, end: datetime | None, now: datetime) -> int:
    """Spend at period end at the burn rate so far (the spend itself for ``total``)."""
    if end is None:
        return spent
    elapsed = max((now - start).total_seconds(), 60.0)
    return int(spent * (end - start).total_seconds() / elapsed)
