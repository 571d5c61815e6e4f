"""``Idempotency-Key`` for POST creates: scoped to the workspace, kept 24 hours.

The first request with a key records it (in flight) before doing any work; a retry with the
same key and body gets the same generation back (``reused = "idempotency"``), the same key
with another body is a 422, and a retry while the first request is still running is a 409.
A request that fails (4xx) forgets its key so the client can correct and resend it.
Records older than 24 hours are deleted by ``idempotency_keys_purge`` (hourly beat task).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ValidationFailed

from ..errors import IdempotencyInProgress, IdempotencyKeyReused
from ..models import Generation, IdempotencyRecord, Workspace
from .creation import CreateOutcome

KEY_TTL = timedelta(hours=24)
# A record in flight for longer than this belongs to a request that died: take it over.
IN_FLIGHT_TTL = timedelta(seconds=60)
_KEY_FORMAT = re.compile(r"[\x21-\x7e]{1,255}")
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 50


def body_fingerprint(body: Any) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _claim(workspace: Workspace, key: str, fingerprint: str, now: datetime) -> Generation | None:
    """Record the key as in flight, or return the generation it already produced."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                workspace=workspace, key=key, fingerprint=fingerprint, created_at=now
            )
            return None
    except IntegrityError:
        pass
    with transaction.atomic():
        record = (
            IdempotencyRecord.objects.select_for_update()
            .filter(workspace=workspace, key=key)
            .first()
        )
        if record is None or record.created_at < now - KEY_TTL:
            IdempotencyRecord.objects.filter(workspace=workspace, key=key).delete()
            IdempotencyRecord.objects.create(
                workspace=workspace, key=key, fingerprint=fingerprint, created_at=now
            )
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.generation_id is not None:
            return Generation.objects.get(id=record.generation_id)
        if record.created_at >= now - IN_FLIGHT_TTL:
            raise IdempotencyInProgress()
        record.created_at = now
        record.save(update_fields=["created_at"])
        return None


def generation_create_idempotent(
    *,
    workspace: Workspace,
    key: str,
    body: Any,
    create: Callable[[], CreateOutcome],
    now: datetime | None = None,
) -> CreateOutcome:
    """Run ``create`` at most once per (workspace, key) within 24 hours."""
    if not _KEY_FORMAT.fullmatch(key):
        raise ValidationFailed.single(
            "invalid_idempotency_key",
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        )
    now = now or timezone.now()
    fingerprint = body_fingerprint(body)
    existing = _claim(workspace, key, fingerprint, now)
    if existing is not None:
        return CreateOutcome(existing, "idempotency")
    try:
        outcome = create()
    except Exception:
        IdempotencyRecord.objects.filter(workspace=workspace, key=key).delete()
        raise
    IdempotencyRecord.objects.filter(workspace=workspace, key=key).update(
        generation=outcome.generation
    )
    return outcome


def idempotency_keys_purge(
    *, now: datetime | None = None, batch: int = PURGE_BATCH, max_batches: int = PURGE_MAX_BATCHES
) -> int:
    """Delete records older than the key lifetime, ``batch`` rows per statement (short
    locks), at most ``max_batches`` statements per call; the next call takes the rest.
    Returns how many were deleted. A key past its lifetime is already treated as new by
    the create path, so purging only reclaims space."""
    cutoff = (now or timezone.now()) - KEY_TTL
    expired = IdempotencyRecord.objects.filter(created_at__lt=cutoff).order_by("created_at")
    deleted = 0
    for _ in range(max_batches):
        ids = list(expired.values_list("id", flat=True)[:batch])
        if not ids:
            break
        deleted += IdempotencyRecord.objects.filter(id__in=ids, created_at__lt=cutoff).delete()[0]
        if len(ids) < batch:
            break
    return deleted
