"""Budget alerts: each threshold once per period, and a forecast alert when the burn rate
projects an overrun before the period ends. Recorded (a unique row makes "once" exact
under concurrency), handed to the alert listeners in the same transaction (webhooks:
``budget.threshold_reached`` and ``budget.forecast_exceeded`` deliveries, see
``budgets.hooks``), emailed to the workspace's owners and admins after it commits, shown
in the dev panel; ``budget_alert_event`` shapes the event."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from generations.models import WorkspaceMembership

from .hooks import budget_alert_recorded
from .models import Budget, BudgetAlert
from .money import to_micros, to_usd
from .periods import period_bounds
from .store import store_figures

logger = logging.getLogger("genpipe.budgets")

ADMIN_ROLES = ("owner", "admin")
# A forecast needs some history: none before this share of the period has passed.
FORECAST_MIN_ELAPSED = 0.1
_AT = serializers.DateTimeField()


def _thresholds(budget: Budget) -> list[Decimal]:
    values = []
    for raw in budget.alert_thresholds or []:
        try:
            values.append(Decimal(str(raw)).quantize(Decimal("0.0001")))
        except ArithmeticError:
            continue
    return sorted(set(values))


def budget_alerts_check(budget_id: int, *, now: datetime | None = None) -> list[BudgetAlert]:
    """Record the alerts the budget's current figures call for, once each per period; the
    listeners hear each one in its transaction, the email goes after the commit."""
    now = now or timezone.now()
    budget = Budget.objects.filter(id=budget_id).select_related("workspace").first()
    if budget is None:
        return []
    start, end = period_bounds(budget.period, now)
    spent, _reserved = store_figures(budget, now=now)
    limit = to_micros(budget.limit_usd)
    known = set(
        BudgetAlert.objects.filter(budget=budget, period_start=start).values_list(
            "kind", "threshold"
        )
    )
    wanted: list[tuple[str, Decimal, int | None]] = []
    for threshold in _thresholds(budget):
        if (limit > 0 and spent >= threshold * limit) or (limit == 0 and spent > 0):
            wanted.append((BudgetAlert.Kind.THRESHOLD, threshold, None))
    if end is not None and spent < limit:
        from .services import forecast_micros

        elapsed = (now - start) / (end - start)
        projected = forecast_micros(spent, start, end, now)
        if elapsed >= FORECAST_MIN_ELAPSED and projected > limit:
            wanted.append((BudgetAlert.Kind.FORECAST, Decimal("0.0000"), projected))
    fired = []
    for kind, threshold, forecast in wanted:
        if (kind, threshold) in known:
            continue
        try:
            with transaction.atomic():
                alert = BudgetAlert.objects.create(
                    budget=budget,
                    kind=kind,
                    threshold=threshold,
                    period_start=start,
                    spent_usd=to_usd(spent),
                    limit_usd=budget.limit_usd,
                    forecast_usd=None if forecast is None else to_usd(forecast),
                    created_at=now,
                )
                budget_alert_recorded(alert)  # its deliveries commit with it, or nothing
        except IntegrityError:
            continue  # another process fired it
        transaction.on_commit(partial(_email, alert))
        fired.append(alert)
    return fired


def _recipients(budget: Budget) -> list[str]:
    rows = WorkspaceMembership.objects.filter(
        workspace_id=budget.workspace_id, role__in=ADMIN_ROLES
    ).values_list("user__email", flat=True)
    return sorted({email for email in rows if email})


def _email(alert: BudgetAlert) -> None:
    recipients = _recipients(alert.budget)
    if not recipients:
        return
    budget = alert.budget
    if alert.kind == BudgetAlert.Kind.FORECAST:
        subject = f"[genpipe] Budget {budget.id} is forecast to exceed ${budget.limit_usd}"
    else:
        subject = (
            f"[genpipe] Budget {budget.id} reached {alert.threshold * 100:.0f}% "
            f"of ${budget.limit_usd}"
        )
    body = (
        f"Workspace: {budget.workspace.slug}\nBudget: {budget}\n"
        f"Spent this period: ${alert.spent_usd} of ${alert.limit_usd}\n"
        + (f"Forecast at period end: ${alert.forecast_usd}\n" if alert.forecast_usd else "")
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("budget alert email failed (alert %s)", alert.id)
        return
    BudgetAlert.objects.filter(id=alert.id).update(emailed_to=recipients)
    alert.emailed_to = recipients


def budget_alert_event(alert: BudgetAlert) -> dict[str, Any]:
    """The alert as the event feed sends it: ``type`` is ``budget.threshold_reached`` or
    ``budget.forecast_exceeded``, ``at`` when it fired; amounts are decimal strings."""
    budget = alert.budget
    _, end = period_bounds(budget.period, alert.period_start)
    return {
        "type": alert.event_type,
        "alert_id": alert.id,
        "kind": alert.kind,
        "workspace_id": budget.workspace_id,
        "budget_id": budget.id,
        "provider_id": budget.provider_id,
        "operation_type": budget.operation_type,
        "mode": budget.mode,
        "period": budget.period,
        "period_start": None if end is None else _AT.to_representation(alert.period_start),
        "period_end": None if end is None else _AT.to_representation(end),
        "threshold": str(alert.threshold),
        "limit_usd": str(alert.limit_usd),
        "spent_usd": str(alert.spent_usd),
        "forecast_usd": None if alert.forecast_usd is None else str(alert.forecast_usd),
        "at": _AT.to_representation(alert.created_at),
    }


def recent_alerts(*, days: int = 7) -> list[BudgetAlert]:
    since = timezone.now() - timedelta(days=days)
    return list(
        BudgetAlert.objects.filter(created_at__gte=since).select_related("budget__workspace")[:10]
    )
