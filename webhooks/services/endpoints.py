"""Registering, changing and rotating webhook endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from generations.models import Workspace

from ..client import TargetRefused, url_check
from ..errors import url_refused
from ..models import Endpoint
from ..signing import secret_generate, secret_open, secret_seal

EDITABLE = ("url", "events", "enabled", "description")


def _checked(url: str) -> str:
    try:
        url_check(url)
    except TargetRefused as exc:
        raise url_refused(exc.code, str(exc)) from exc
    return url


def endpoint_create(
    *, workspace: Workspace, url: str, events: list[str], enabled: bool, description: str
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it and its new secret (the only time it is shown).

    Raises ``ValidationFailed`` (``webhook_url_invalid``, ``webhook_url_not_allowed``) for
    a URL that is malformed or resolves to a non-public address.
    """
    secret = secret_generate()
    endpoint = Endpoint.objects.create(
        workspace=workspace,
        url=_checked(url),
        events=sorted(set(events)),
        enabled=enabled,
        description=description,
        secret_sealed=secret_seal(secret),
    )
    return endpoint, secret


def endpoint_update(*, endpoint: Endpoint, data: dict[str, Any], now: datetime) -> Endpoint:
    """Change the editable fields. Enabling clears the failure streak and the reason it was
    disabled; disabling records ``manual``. A new URL is checked as at registration."""
    changes = {k: v for k, v in data.items() if k in EDITABLE}
    if "url" in changes:
        _checked(changes["url"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes.get("enabled") is True and not endpoint.enabled:
        changes.update(failure_streak=0, disabled_reason="", disabled_at=None)
    elif changes.get("enabled") is False and endpoint.enabled:
        changes.update(disabled_reason=Endpoint.DisabledReason.MANUAL, disabled_at=now)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Delete the endpoint and its delivery history; queued attempts find nothing."""
    endpoint.delete()


def endpoint_rotate_secret(
    *, endpoint: Endpoint, now: datetime, grace_s: float | None = None
) -> tuple[Endpoint, str]:
    """Give the endpoint a new secret; the current one keeps signing (as a second
    signature) for ``grace_s`` seconds (``GENPIPE_WEBHOOK_ROTATION_GRACE_S``, 24 h)."""
    if grace_s is None:
        grace_s = float(settings.GENPIPE_WEBHOOK_ROTATION_GRACE_S)
    secret = secret_generate()
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        if grace_s > 0:
            locked.previous_secret_sealed = locked.secret_sealed
            locked.previous_secret_expires_at = now + timedelta(seconds=grace_s)
        else:
            locked.previous_secret_sealed = ""
            locked.previous_secret_expires_at = None
        locked.secret_sealed = secret_seal(secret)
        locked.save()
    return locked, secret


def endpoint_signing_secrets(*, endpoint: Endpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, then the previous one
    while its grace period lasts."""
    secrets = [secret_open(endpoint.secret_sealed)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires is not None and expires > now:
        secrets.append(secret_open(endpoint.previous_secret_sealed))
    return secrets
