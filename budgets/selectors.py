"""Who sees which budgets, and the spend report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDay

from generations.models import ProviderAttempt, Workspace, WorkspaceMembership

from .models import Budget, ReuseSaving
from .savings import reuse_savings_flush

WRITER_ROLES = ("owner", "admin")


def workspaces_visible(user: Any) -> QuerySet[Workspace]:
    if user.is_staff:
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user_id=user.pk)


def budget_list(*, user: Any) -> QuerySet[Budget]:
    if user.is_staff:
        return Budget.objects.all()
    return Budget.objects.filter(workspace__memberships__user_id=user.pk)


def can_write(user: Any, workspace_id: int) -> bool:
    if user.is_staff:
        return True
    return WorkspaceMembership.objects.filter(
        user_id=user.pk, workspace_id=workspace_id, role__in=WRITER_ROLES
    ).exists()


GROUPS = {"provider": "provider_id", "operation_type": "operation_type", "day": "day"}


def spend_report(
    *, workspace_ids: list[int], group_by: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Actual cost of provider attempts started in ``[start, end)``, grouped, and what
    reuse (cache hits, dedup) saved in those days."""
    attempts = ProviderAttempt.objects.filter(
        generation__workspace_id__in=workspace_ids, started_at__gte=start, started_at__lt=end
    )
    if group_by == "day":
        attempts = attempts.annotate(day=TruncDay("started_at"))
    field = GROUPS[group_by]
    rows = (
        attempts.values(field).annotate(cost=Sum("cost_usd"), attempts=Count("id")).order_by(field)
    )
    out = []
    total = Decimal("0")
    for row in rows:
        key = row[field]
        cost = row["cost"] or Decimal("0")
        total += cost
        label = key.date().isoformat() if isinstance(key, datetime) else str(key)
        out.append({"key": label, "cost_usd": f"{cost:.6f}", "attempts": row["attempts"]})
    reuse_savings_flush()  # this process's last interval too (budgets.savings)
    saved = ReuseSaving.objects.filter(
        workspace_id__in=workspace_ids, day__gte=start.date(), day__lte=end.date()
    ).aggregate(saved=Sum("saved_usd"), reused=Sum("reused"))
    return {
        "group_by": group_by,
        "from": start,
        "to": end,
        "total_usd": f"{total:.6f}",
        "saved_usd": f"{saved['saved'] or Decimal('0'):.6f}",
        "reused": saved["reused"] or 0,
        "rows": out,
    }
