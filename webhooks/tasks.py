"""Celery tasks of webhooks: a delivery id in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from generations.tasks import DATABASE_RETRY

from .services.deliveries import Next, deliveries_sweep, delivery_attempt
from .services.dispatch import delivery_enqueue


@shared_task(
    name="webhooks.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=45,
    time_limit=55,
    **DATABASE_RETRY,
)
def deliver_webhook(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """Attempt one delivery; schedules its next retry. Idempotent: a duplicate or early
    message finds the delivery not due (or held by an attempt in flight) and exits.

    Eager mode (the in-process tests) does not chain the retry inline: the tests run the
    sweeper to send due retries.
    """
    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.next is Next.RETRY and not self.request.is_eager:
        delivery_enqueue(delivery_ids=[delivery_id], delay_s=outcome.delay_s)
    return outcome.next.value


@shared_task(name="webhooks.sweep", ignore_result=True, soft_time_limit=25, time_limit=30)
def sweep_webhook_deliveries() -> int:
    """Publish due pending deliveries (beat, every 30 s); safe to overlap."""
    return len(deliveries_sweep(now=timezone.now()))
