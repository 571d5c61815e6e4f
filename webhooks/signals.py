"""Saving or deleting an endpoint drops the workspace's cached event filters."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Endpoint
from .services.deliveries import endpoint_filters_forget


@receiver(post_save, sender=Endpoint)
@receiver(post_delete, sender=Endpoint)
def _forget(sender: Any, instance: Endpoint, **_: Any) -> None:
    workspace_id = instance.workspace_id
    endpoint_filters_forget(workspace_id)
    transaction.on_commit(lambda: endpoint_filters_forget(workspace_id))
