"""Deliveries: made from status changes and budget alerts, attempted, retried,
redelivered, swept.

One policy, one home: ``retry_schedule`` and ``_after_failure`` decide every retry wait,
``delivery_attempt`` is the only place a delivery is sent (task, sweeper and redeliver
all end up there).
"""

from __future__ import annotations

import enum
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from budgets.alerts import budget_alert_event
from budgets.models import BudgetAlert
from generations import hooks
from generations.events import event_object
from generations.hooks import StatusChange
from generations.models import GenerationEvent

from ..client import PostResult, webhook_post
from ..errors import WebhookEndpointDisabled
from ..models import Delivery, DeliveryAttempt, Endpoint
from ..payload import webhook_body
from ..signing import signature_header
from .dispatch import delivery_enqueue
from .endpoints import endpoint_signing_secrets

logger = logging.getLogger("genpipe.webhooks")

# An attempt in flight holds its delivery this long (above the 15 s request timeout);
# a worker that dies mid-attempt leaves it to the sweeper after that.
LEASE_S = 60.0
RETRY_AFTER_MAX_S = 24 * 3600.0
SWEEP_BATCH = 500
# The Standard Webhooks specification's example schedule, after the immediate attempt.
SPEC_SCHEDULE = "5,300,1800,7200,18000,36000,50400,72000,86400"


def retry_schedule() -> list[float]:
    """Seconds to wait after the 1st, 2nd, … failed attempt (``GENPIPE_WEBHOOK_RETRY_SCHEDULE``)."""
    raw = str(getattr(settings, "GENPIPE_WEBHOOK_RETRY_SCHEDULE", "") or SPEC_SCHEDULE)
    return [float(part) for part in raw.split(",") if part.strip()]


def _delay(position: int, retry_after_s: float | None) -> float | None:
    """The wait before the next attempt after failure ``position`` (0-based), or None when
    the schedule is spent. Up to 10 % jitter spreads retries of a burst; a receiver's
    ``Retry-After`` may lengthen the wait, never shorten it."""
    schedule = retry_schedule()
    if position >= len(schedule):
        return None
    delay = schedule[position] * (1 + random.uniform(0, 0.1))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_MAX_S))
    return delay


def _webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


FILTERS_TTL_S = 300


def _filters_key(workspace_id: int) -> str:
    return f"webhooks:ws:{workspace_id}:filters"


def endpoint_filters(workspace_id: int) -> list[list[str]]:
    """The event filters of the workspace's enabled endpoints (``[]`` = all events), from
    the cache (one lookup; an empty list is cached too). Saving or deleting an endpoint
    forgets them (``webhooks.signals``); a cache that cannot answer falls back to the
    database."""
    key = _filters_key(workspace_id)
    try:
        cached = hooks.cached(key)
    except Exception:
        cached = None
    if cached is not None:
        return list(cached)
    filters = [
        list(events or [])
        for events in Endpoint.objects.filter(workspace_id=workspace_id, enabled=True)
        .order_by("id")
        .values_list("events", flat=True)
    ]
    try:
        cache.set(key, filters, FILTERS_TTL_S)
    except Exception:
        logger.warning("could not cache the webhook filters of workspace %s", workspace_id)
    return filters


def endpoint_filters_forget(workspace_id: int) -> None:
    try:
        cache.delete(_filters_key(workspace_id))
    except Exception:
        logger.warning("could not forget the webhook filters of workspace %s", workspace_id)


def _subscribed(workspace_id: int, event_type: str) -> list[Endpoint]:
    """The workspace's enabled endpoints whose ``events`` filter takes ``event_type``.

    One cache lookup when none does (``endpoint_filters``); the endpoints are read only
    when one may."""
    if not any(not events or event_type in events for events in endpoint_filters(workspace_id)):
        return []
    return [
        e
        for e in Endpoint.objects.filter(workspace_id=workspace_id, enabled=True)
        if e.wants(event_type)
    ]


def _deliveries_create(
    endpoints: list[Endpoint], event_type: str, body: str, subject: dict[str, object]
) -> None:
    """One pending delivery per endpoint for the event ``subject`` names (``event=`` or
    ``budget_alert=``), unless it exists; a task each after the commit."""
    now = timezone.now()
    created: list[int] = []
    with transaction.atomic():
        for endpoint in endpoints:
            delivery, new = Delivery.objects.get_or_create(
                endpoint=endpoint,
                **subject,
                defaults={
                    "webhook_id": _webhook_id(),
                    "event_type": event_type,
                    "body": body,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if new:
                created.append(delivery.id)
        delivery_enqueue(delivery_ids=created)


def event_fan_out(change: StatusChange) -> None:
    """Transition listener (``GENPIPE_TRANSITION_LISTENERS``, after commit): one delivery
    per enabled endpoint of the workspace whose filter takes the event, then a task each.

    Idempotent: a second call for the same event finds the deliveries and sends nothing.
    Costs one cache lookup when no enabled endpoint of the workspace wants the event.
    """
    event_type = f"generation.{change.to_status}"
    endpoints = _subscribed(change.workspace_id, event_type)
    if not endpoints:
        return
    event = GenerationEvent.objects.select_related("generation").get(id=change.event_id)
    body = webhook_body(event_object(event, event.generation))
    _deliveries_create(endpoints, event_type, body, {"event": event})


def _fan_out_prepare(change: StatusChange, batch: hooks.TransitionRound) -> None:
    """The filters are read in the transition's round (``generations.hooks``)."""
    batch.read(_filters_key(change.workspace_id))


event_fan_out.prepare = _fan_out_prepare  # type: ignore[attr-defined]


def budget_alert_fan_out(alert: BudgetAlert) -> None:
    """Budget alert listener (``GENPIPE_BUDGET_ALERT_LISTENERS``, inside the transaction
    that records the alert): a ``budget.threshold_reached`` or ``budget.forecast_exceeded``
    delivery per enabled endpoint of the budget's workspace whose filter takes it.

    The alert row is unique per budget, threshold and period, and the deliveries commit
    with it, so each endpoint gets one delivery per alert however many settlements cross
    the threshold at once. Idempotent like ``event_fan_out``.
    """
    event = budget_alert_event(alert)
    endpoints = _subscribed(alert.budget.workspace_id, event["type"])
    if endpoints:
        _deliveries_create(endpoints, event["type"], webhook_body(event), {"budget_alert": alert})


class Next(enum.Enum):
    """What a delivery needs after an attempt."""

    NOTHING = "nothing"  # succeeded, stopped, or not ours to send now
    RETRY = "retry"  # send again after ``delay_s``


@dataclass(frozen=True)
class AttemptOutcome:
    next: Next
    delay_s: float = 0.0
    attempt: DeliveryAttempt | None = None


def _claim(delivery_id: int, now: datetime) -> tuple[Delivery, int] | None:
    """Take a due pending delivery for one attempt (attempt number) or None."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("endpoint")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None or delivery.state != Delivery.State.PENDING:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None
        if not delivery.endpoint.enabled:
            delivery.state = Delivery.State.FAILED
            delivery.last_error = "endpoint_disabled"
            delivery.next_attempt_at = None
            delivery.completed_at = delivery.updated_at = now
            delivery.save()
            return None
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + timedelta(seconds=LEASE_S)
        delivery.updated_at = now
        delivery.save(update_fields=["attempt_count", "next_attempt_at", "updated_at"])
        return delivery, delivery.attempt_count


def _send(delivery: Delivery, now: datetime) -> PostResult:
    timestamp = int(now.timestamp())
    body = delivery.body.encode("utf-8")
    try:
        secrets = endpoint_signing_secrets(endpoint=delivery.endpoint, now=now)
    except InvalidToken:
        # DJANGO_SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS.
        logger.error("webhook endpoint %s: its secret cannot be decrypted", delivery.endpoint_id)
        return PostResult(None, 0, "secret_unreadable: rotate the endpoint's secret")
    headers = {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets, webhook_id=delivery.webhook_id, timestamp=timestamp, body=body
        ),
        "user-agent": "genpipe-webhooks/1",
    }
    return webhook_post(delivery.endpoint.url, body=body, headers=headers)


def _disable(endpoint_id: int, reason: str, now: datetime) -> None:
    Endpoint.objects.filter(id=endpoint_id, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now
    )
    workspace_id = Endpoint.objects.filter(id=endpoint_id).values_list("workspace_id", flat=True)
    for found in workspace_id:
        endpoint_filters_forget(found)
    logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


def _record(
    delivery_id: int, number: int, result: PostResult, *, sent_at: datetime, now: datetime
) -> AttemptOutcome:
    """Write the attempt and move the delivery on: succeeded, retry later, or stop."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().select_related("endpoint").get(id=delivery_id)
        )
        endpoint = delivery.endpoint
        attempt = DeliveryAttempt(
            delivery=delivery,
            number=number,
            attempted_at=sent_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error[:255],
            outcome=DeliveryAttempt.Outcome.SUCCEEDED
            if result.ok
            else DeliveryAttempt.Outcome.FAILED,
        )
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error[:255]
        delivery.updated_at = now
        outcome = AttemptOutcome(Next.NOTHING)
        if result.ok:
            delivery.state = Delivery.State.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.completed_at = now
            if endpoint.failure_streak:
                Endpoint.objects.filter(id=endpoint.id).update(failure_streak=0)
        else:
            Endpoint.objects.filter(id=endpoint.id).update(failure_streak=F("failure_streak") + 1)
            streak = Endpoint.objects.values_list("failure_streak", flat=True).get(id=endpoint.id)
            delay = _delay(delivery.schedule_position, result.retry_after_s)
            if result.status_code == 410:
                _disable(endpoint.id, Endpoint.DisabledReason.GONE, now)
                delivery.state = Delivery.State.FAILED
            elif streak >= int(settings.GENPIPE_WEBHOOK_DISABLE_AFTER):
                _disable(endpoint.id, Endpoint.DisabledReason.FAILURE_STREAK, now)
                delivery.state = Delivery.State.FAILED
            elif delay is None:
                delivery.state = Delivery.State.GAVE_UP
            else:
                delivery.schedule_position += 1
                delivery.next_attempt_at = attempt.next_retry_at = now + timedelta(seconds=delay)
                outcome = AttemptOutcome(Next.RETRY, delay)
            if delivery.state != Delivery.State.PENDING:
                delivery.next_attempt_at = None
                delivery.completed_at = now
        attempt.save()
        delivery.save()
    return AttemptOutcome(outcome.next, outcome.delay_s, attempt)


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptOutcome:
    """Send a due pending delivery once and record the attempt.

    Does nothing for a delivery that is not pending, not yet due or held by an attempt in
    flight (so duplicate tasks and overlapping sweeps are harmless). A non-2xx answer, a
    timeout, a redirect or a refused target is a failed attempt: the delivery waits for its
    next retry, gives up when the schedule is spent, or fails at once on ``410 Gone``
    (which disables the endpoint) or when the endpoint's failure streak reaches
    ``GENPIPE_WEBHOOK_DISABLE_AFTER`` (which disables it too).
    """
    now = now or timezone.now()
    claimed = _claim(delivery_id, now)
    if claimed is None:
        return AttemptOutcome(Next.NOTHING)
    delivery, number = claimed
    sent_at = timezone.now()
    result = _send(delivery, sent_at)
    return _record(delivery_id, number, result, sent_at=sent_at, now=timezone.now())


def delivery_redeliver(*, delivery: Delivery, now: datetime) -> Delivery:
    """Send the delivery again now, same ``webhook-id`` and body. A finished delivery
    starts the retry schedule over; a pending one just stops waiting. Raises
    ``WebhookEndpointDisabled`` when its endpoint is disabled."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("endpoint").get(id=delivery.id)
        if not locked.endpoint.enabled:
            raise WebhookEndpointDisabled()
        if locked.state != Delivery.State.PENDING:
            locked.schedule_position = 0
            locked.completed_at = None
        locked.state = Delivery.State.PENDING
        locked.next_attempt_at = now
        locked.updated_at = now
        locked.save()
        delivery_enqueue(delivery_ids=[locked.id])
    return locked


def deliveries_sweep(*, now: datetime) -> list[int]:
    """Publish every pending delivery that is due (beat): retries waiting longer than a
    countdown may, tasks lost with a broker or a worker, attempts whose lease ran out."""
    due = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    delivery_enqueue(delivery_ids=due)
    return due
