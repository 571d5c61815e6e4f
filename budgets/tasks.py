from __future__ import annotations

from celery import shared_task

from .services import budget_reconcile


@shared_task(name="budgets.reconcile", ignore_result=True)
def budgets_reconcile_task() -> dict[str, int]:
    """Settle reservations a crash left behind; release Redis reservations of creates that
    rolled back."""
    return budget_reconcile()
