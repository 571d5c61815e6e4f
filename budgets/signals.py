"""Saving or deleting a budget drops the workspace's cached budget list."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Budget
from .services import budget_configs_forget


@receiver(post_save, sender=Budget)
@receiver(post_delete, sender=Budget)
def _forget(sender: Any, instance: Budget, **_: Any) -> None:
    workspace_id = instance.workspace_id
    budget_configs_forget(workspace_id)
    transaction.on_commit(lambda: budget_configs_forget(workspace_id))
