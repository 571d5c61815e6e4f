"""Failover: a generation moves once to its provider's fallback provider."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import Generation, GenerationEvent, Provider, Status


def usable_fallback(generation: Generation, provider: Provider) -> Provider | None:
    """The provider's fallback if this generation may move to it (enabled, supports the
    operation, and the generation has not failed over before)."""
    fallback = provider.fallback_provider
    if fallback is None or generation.failover_from:
        return None  # one failover per generation: no ping-pong between providers
    if not fallback.enabled or not fallback.supports(generation.operation_type):
        return None
    return fallback


def generation_failover(
    generation: Generation, provider: Provider, fallback: Provider, reason: str
) -> bool:
    """Move a processing generation to ``fallback`` with an audit event; False when it is
    no longer processing on ``provider`` (someone else moved it)."""
    with transaction.atomic():
        moved = Generation.objects.filter(
            id=generation.id, status=Status.PROCESSING, provider_id=provider.id
        ).update(provider=fallback, failover_from=provider.id, updated_at=timezone.now())
        if moved:
            GenerationEvent.objects.create(
                generation_id=generation.id,
                from_status=Status.PROCESSING,
                to_status=Status.PROCESSING,
                actor="worker",
                at=timezone.now(),
                reason=f"failover {provider.id} → {fallback.id}: {reason}"[:255],
            )
    return bool(moved)
