"""The running counters of each budget's current period, kept atomically.

Two stores with one contract (``reserve``, ``apply``, ``figures``):

- ``database`` (no Redis): counters on the Budget row, changed by conditional UPDATEs
  inside the create transaction (``reserved + x`` only ``WHERE spent + reserved + x <=
  limit``), budgets taken in id order so concurrent creates never deadlock.
- ``redis``: one hash per budget and period; one Lua script reserves on every applicable
  budget or on none, another settles. A key that is missing (never built, flushed,
  expired) is rebuilt from the ledger first. A reservation is also filed in a pending set
  until reconciliation finds its ledger row (a create that rolled back leaves none: the
  reservation is then released; see ``services.budget_reconcile``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F, Q, Sum

from telemetry.store import run_script, telemetry_client

from .models import Budget, BudgetEntry
from .periods import period_bounds

logger = logging.getLogger("genpipe.budgets")

PENDING_KEY = "genpipe:budget:pending"


@dataclass(frozen=True)
class BudgetRef:
    """What the create path needs of a budget (cached, see ``services.budget_configs``)."""

    id: int
    provider_id: str | None
    operation_type: str | None
    limit_micros: int
    period: str
    hard: bool


@dataclass(frozen=True)
class Refusal:
    budget: BudgetRef
    spent_micros: int
    reserved_micros: int


def store_name() -> str:
    configured = getattr(settings, "GENPIPE_BUDGET_STORE", "")
    if configured:
        return str(configured)
    return "redis" if getattr(settings, "REDIS_URL", "") else "database"


def ledger_figures(budget_id: int, period_start: datetime) -> tuple[int, int]:
    """``(spent, reserved)`` of a budget's period, summed from the ledger."""
    rows = (
        BudgetEntry.objects.filter(budget_id=budget_id, period_start=period_start)
        .values("kind")
        .annotate(total=Sum("amount_micros"))
    )
    sums = {row["kind"]: int(row["total"] or 0) for row in rows}
    spent = sums.get(BudgetEntry.Kind.SETTLEMENT, 0)
    reserved = sums.get(BudgetEntry.Kind.RESERVATION, 0) - sums.get(BudgetEntry.Kind.RELEASE, 0)
    return spent, reserved


# --- database store -----------------------------------------------------------------------


def _db_roll(budget: BudgetRef, start: datetime) -> None:
    """Point the row's counters at the current period (rebuilt from the ledger) once."""
    stale = Budget.objects.filter(id=budget.id).filter(
        ~Q(counters_period_start=start) | Q(counters_period_start__isnull=True)
    )
    if stale.exists():
        spent, reserved = ledger_figures(budget.id, start)
        stale.update(counters_period_start=start, spent_micros=spent, reserved_micros=reserved)


def _db_reserve(budgets: list[BudgetRef], amount: int, now: datetime) -> Refusal | None:
    for budget in budgets:  # sorted by id: a stable lock order
        start, _ = period_bounds(budget.period, now)
        _db_roll(budget, start)
        rows = Budget.objects.filter(id=budget.id, counters_period_start=start)
        if budget.hard:
            rows = rows.alias(total=F("spent_micros") + F("reserved_micros")).filter(
                total__lte=budget.limit_micros - amount
            )
        if rows.update(reserved_micros=F("reserved_micros") + amount) != 1:
            row = Budget.objects.filter(id=budget.id).values("spent_micros", "reserved_micros")
            figures = row.first() or {"spent_micros": 0, "reserved_micros": 0}
            return Refusal(budget, figures["spent_micros"], figures["reserved_micros"])
    return None


def _db_apply(budget_id: int, start: datetime, spent: int, released: int) -> None:
    Budget.objects.filter(id=budget_id, counters_period_start=start).update(
        spent_micros=F("spent_micros") + spent, reserved_micros=F("reserved_micros") - released
    )


def _db_figures(budget: Budget, start: datetime) -> tuple[int, int]:
    if budget.counters_period_start == start:
        return budget.spent_micros, budget.reserved_micros
    return ledger_figures(budget.id, start)


# --- redis store --------------------------------------------------------------------------

RESERVE = """
local n = #KEYS - 1
local est = tonumber(ARGV[3])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 0 then return {-1, i} end
end
for i = 1, n do
  local base = 3 + (i - 1) * 3
  if ARGV[base + 2] == '1' then
    local s = tonumber(redis.call('HGET', KEYS[i], 'spent') or '0')
    local r = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
    if s + r + est > tonumber(ARGV[base + 1]) then return {1, i, s, r} end
  end
end
for i = 1, n do
  local base = 3 + (i - 1) * 3
  redis.call('HINCRBY', KEYS[i], 'reserved', est)
  redis.call('ZADD', KEYS[n + 1], ARGV[1], ARGV[base + 3] .. '|' .. ARGV[2] .. '|' .. est)
end
return {0}
"""

INIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'spent', ARGV[1], 'reserved', ARGV[2])
  if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  return 1
end
return 0
"""

APPLY = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(ARGV[2]))
end
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
return 1
"""


def counter_key(budget_id: int, start: datetime) -> str:
    return f"genpipe:budget:{budget_id}:{int(start.timestamp())}"


def pending_member(budget_id: int, start: datetime, generation_id: str, amount: int) -> str:
    return f"{budget_id}:{int(start.timestamp())}|{generation_id}|{amount}"


def _client() -> Any:
    client = telemetry_client()
    if client is None:
        raise RuntimeError("the redis budget store needs REDIS_URL")
    return client


def redis_rebuild(budget_id: int, period: str, start: datetime, *, now: datetime) -> None:
    """Create the period's counters from the ledger unless they exist."""
    _, end = period_bounds(period, now)
    ttl = int((end - now).total_seconds()) + 8 * 86400 if end is not None else 0
    spent, reserved = ledger_figures(budget_id, start)
    run_script(_client(), INIT, [counter_key(budget_id, start)], [spent, reserved, ttl])


def _redis_reserve(
    budgets: list[BudgetRef], amount: int, now: datetime, generation_id: str
) -> Refusal | None:
    client = _client()
    keys, args = [], [now.timestamp(), generation_id, amount]
    for budget in budgets:
        start, _ = period_bounds(budget.period, now)
        keys.append(counter_key(budget.id, start))
        tag = f"{budget.id}:{int(start.timestamp())}"
        args += [budget.limit_micros, "1" if budget.hard else "0", tag]
    for _attempt in range(3):
        result = run_script(client, RESERVE, [*keys, PENDING_KEY], args)
        if result[0] == 0:
            return None
        if result[0] == 1:
            return Refusal(budgets[result[1] - 1], int(result[2]), int(result[3]))
        missing = budgets[result[1] - 1]
        redis_rebuild(missing.id, missing.period, period_bounds(missing.period, now)[0], now=now)
    raise RuntimeError("budget counters could not be built")


def _redis_apply(
    budget_id: int, start: datetime, spent: int, released: int, generation_id: str
) -> None:
    member = pending_member(budget_id, start, generation_id, released) if released else ""
    run_script(
        _client(), APPLY, [counter_key(budget_id, start), PENDING_KEY], [spent, released, member]
    )


def _redis_figures(budget: Budget, start: datetime, now: datetime) -> tuple[int, int]:
    client = _client()
    key = counter_key(budget.id, start)
    values = client.hmget(key, ["spent", "reserved"])
    if values[0] is None:
        redis_rebuild(budget.id, budget.period, start, now=now)
        values = client.hmget(key, ["spent", "reserved"])
    return int(values[0] or 0), int(values[1] or 0)


# --- the contract ---------------------------------------------------------------------------


def store_reserve(
    budgets: list[BudgetRef], amount: int, *, now: datetime, generation_id: str
) -> Refusal | None:
    """Reserve ``amount`` on every budget, or on none and say which one refused."""
    if store_name() == "redis":
        return _redis_reserve(budgets, amount, now, generation_id)
    return _db_reserve(budgets, amount, now)


def store_apply(
    budget_id: int, start: datetime, *, spent: int, released: int, generation_id: str
) -> None:
    """Add a settlement and take a release off the counters (after the ledger rows)."""
    if store_name() == "redis":
        _redis_apply(budget_id, start, spent, released, generation_id)
    else:
        _db_apply(budget_id, start, spent, released)


def store_figures(budget: Budget, *, now: datetime) -> tuple[int, int]:
    """``(spent, reserved)`` of the budget's current period, as enforcement sees them."""
    start, _ = period_bounds(budget.period, now)
    if store_name() == "redis":
        return _redis_figures(budget, start, now)
    return _db_figures(budget, start)
