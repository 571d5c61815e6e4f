"""Token authentication with a short per-process cache of token → user.

Every API request authenticates; DRF's ``TokenAuthentication`` reads the token and its
user from the database each time. ``CachedTokenAuthentication`` keeps the answer for
``GENPIPE_AUTH_CACHE_S`` seconds (default 2; 0 turns the cache off) in the process that
read it, and forgets everything at once when a token, a user, or anything registered with
``auth_cache_clear`` on a model's save or delete changes in this process (a revoked token
is refused by this process's next request). **Bound**: another process (the other
gunicorn workers, another machine) may still accept a revoked token, or a user's
memberships as they were, for at most ``GENPIPE_AUTH_CACHE_S`` seconds; changes made
without model signals (``QuerySet.update``, raw SQL) are bounded the same way.

Each cached entry carries a small ``memo`` dict (``auth_memo(user)``) where an app may keep
what it derived from the user for the same lifetime (the generations app keeps the user's
workspaces there); it is dropped with the entry.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

MAX_ENTRIES = 10_000
_MEMO = "_genpipe_auth_memo"

_entries: dict[str, tuple[float, Any, Any, dict[str, Any]]] = {}
_lock = threading.Lock()


def _ttl() -> float:
    return float(getattr(settings, "GENPIPE_AUTH_CACHE_S", 2.0))


def auth_cache_clear(**_: Any) -> None:
    """Forget every cached token (any signature: usable as a signal receiver)."""
    with _lock:
        _entries.clear()


def auth_memo(user: Any) -> dict[str, Any] | None:
    """The memo of a user authenticated through the cache (``None`` otherwise)."""
    return getattr(user, _MEMO, None)


class CachedTokenAuthentication(TokenAuthentication):
    """``TokenAuthentication`` behind the per-process cache described above; same
    answers, same errors (an unknown or inactive user's token is never cached)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        ttl = _ttl()
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        entry = _entries.get(key)
        if entry is None or entry[0] <= now:
            user, token = super().authenticate_credentials(key)
            entry = (now + ttl, user, token, {})
            with _lock:
                if len(_entries) >= MAX_ENTRIES:
                    _entries.clear()
                _entries[key] = entry
        _, user, token, memo = entry
        user = copy.copy(user)  # a request may set attributes on its user: not on ours
        setattr(user, _MEMO, memo)
        return user, token


for _model in (Token, get_user_model()):
    post_save.connect(auth_cache_clear, sender=_model, dispatch_uid=f"auth-cache-save-{_model}")
    post_delete.connect(auth_cache_clear, sender=_model, dispatch_uid=f"auth-cache-delete-{_model}")


@receiver(setting_changed)
def _setting_changed(*, setting: str, **_: Any) -> None:
    if setting in ("GENPIPE_AUTH_CACHE_S", "REST_FRAMEWORK", "AUTH_USER_MODEL"):
        auth_cache_clear()
