"""Extension point of budgets: apps above it hear of every alert recorded.

``GENPIPE_BUDGET_ALERT_LISTENERS`` names ``listener(alert)`` callables (dotted paths,
imported once). Each runs inside the transaction that records the ``BudgetAlert``, in a
savepoint of its own: rows it writes (e.g. webhook deliveries) commit with the alert or
not at all, so an alert is heard exactly once; work outside the database belongs in
``transaction.on_commit``. A listener that raises is logged and rolled back alone; the
alert is still recorded. Budgets never import the listeners' apps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import BudgetAlert

logger = logging.getLogger("genpipe.budgets")
SETTING = "GENPIPE_BUDGET_ALERT_LISTENERS"


@cache
def alert_listeners() -> tuple[Callable[[BudgetAlert], Any], ...]:
    return tuple(import_string(path) for path in getattr(settings, SETTING, ()) or ())


@receiver(setting_changed)
def _reload(*, setting: str, **_: Any) -> None:
    if setting == SETTING:
        alert_listeners.cache_clear()


def budget_alert_recorded(alert: BudgetAlert) -> None:
    """Tell every alert listener, each in a savepoint (call inside the alert's transaction)."""
    for listener in alert_listeners():
        try:
            with transaction.atomic():
                listener(alert)
        except Exception:
            logger.exception("budget alert listener %s failed", getattr(listener, "__name__", ""))
