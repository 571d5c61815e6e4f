"""Gauges computed when ``/metrics`` is scraped, from figures genpipe already keeps.

A few indexed database queries per scrape, never per request: the queue (pending
generations and the age of the oldest), each provider's circuit breaker, and the budgets'
current-period spend summed by period (never one series per workspace or budget).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from budgets.models import Budget
from budgets.services import budget_figures
from generations.models import Generation, OperationType, Provider, ProviderBreaker, Status
from generations.services.breaker import breaker_view

from .metrics import OPERATION, PROVIDER, bounded

logger = logging.getLogger("genpipe.metrics")
BREAKER_STATES = tuple(ProviderBreaker.State.values)
BUDGET_STATES = ("ok", "warning", "exhausted")  # spent < 80 %, < 100 %, >= 100 % of the limit
BUDGETS_SCANNED = 10_000  # a scrape reads at most this many budgets


def _queue(now: datetime) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "genpipe_queue_pending_generations",
        "Generations waiting for a worker (status pending), by operation.",
        labels=[OPERATION],
    )
    age = GaugeMetricFamily(
        "genpipe_queue_oldest_pending_age_seconds",
        "Age of the oldest pending generation (0 when none is pending).",
    )
    rows = (
        Generation.objects.filter(status=Status.PENDING)
        .values("operation_type")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    pending = {row["operation_type"]: row for row in rows}
    oldest: datetime | None = None
    for operation in OperationType.values:  # every operation, 0 included: stable series
        row = pending.get(operation)
        depth.add_metric([operation], row["n"] if row else 0)
        if row and (oldest is None or row["oldest"] < oldest):
            oldest = row["oldest"]
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return iter((depth, age))


def _breakers(now: datetime) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "genpipe_provider_breaker_state",
        "Circuit breaker of each provider: 1 for its current state, 0 for the others.",
        labels=[PROVIDER, "state"],
    )
    failures = GaugeMetricFamily(
        "genpipe_provider_breaker_consecutive_failures",
        "Provider faults in a row that the breaker counts.",
        labels=[PROVIDER],
    )
    for provider in Provider.objects.order_by("id"):
        view = breaker_view(provider=provider, now=now)
        name = bounded(provider.id)
        for candidate in BREAKER_STATES:
            state.add_metric([name, candidate], 1.0 if view.state == candidate else 0.0)
        failures.add_metric([name], view.consecutive_failures)
    return iter((state, failures))


def _budgets(now: datetime) -> Iterator[Metric]:
    budgets = list(Budget.objects.order_by("id")[:BUDGETS_SCANNED])
    if not budgets:
        return iter(())
    spend: dict[str, Decimal] = defaultdict(Decimal)
    limit: dict[str, Decimal] = defaultdict(Decimal)
    states: dict[tuple[str, str], int] = defaultdict(int)
    for budget in budgets:
        figures = budget_figures(budget, now=now)
        spend[budget.period] += figures.spent_usd
        limit[budget.period] += budget.limit_usd
        ratio = figures.spent_usd / budget.limit_usd if budget.limit_usd else Decimal(1)
        state = "exhausted" if ratio >= 1 else "warning" if ratio >= Decimal("0.8") else "ok"
        states[(budget.period, state)] += 1
    spend_family = GaugeMetricFamily(
        "genpipe_budget_spend_usd",
        "Spend in the current period of every budget, summed by budget period.",
        labels=["period"],
    )
    limit_family = GaugeMetricFamily(
        "genpipe_budget_limit_usd", "Limits of the budgets, summed by period.", labels=["period"]
    )
    count_family = GaugeMetricFamily(
        "genpipe_budgets",
        "Budgets by period and state (ok < 80 % spent <= warning < 100 % <= exhausted).",
        labels=["period", "state"],
    )
    for period in sorted(spend):
        spend_family.add_metric([period], float(spend[period]))
        limit_family.add_metric([period], float(limit[period]))
        for state in BUDGET_STATES:
            count_family.add_metric([period, state], states[(period, state)])
    return iter((spend_family, limit_family, count_family))


class FiguresCollector(Collector):
    """The scrape-time gauges; a part that fails is logged and left out of the scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        for part in (_queue, _breakers, _budgets):
            try:
                yield from part(now)
            except Exception:
                logger.exception("metrics: %s failed", part.__name__.strip("_"))
