"""Providers by id for the create path, kept in the process for a few seconds.

Every create and validate reads its provider; providers change rarely (an operator edits
one in the admin). Like ``django.contrib.sites``' ``SITE_CACHE``, the rows are kept in the
process: saving or deleting a Provider clears this process's copy at once, and other
processes see the change within ``TTL_S``. That lag is safe: the worker reads the provider
afresh for every attempt and never calls a disabled one. Unknown ids are not cached, so
arbitrary ids from clients cannot grow the cache.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Provider

TTL_S = 5.0
_cache: dict[str, tuple[float, Provider]] = {}


def provider_cached(provider_id: str) -> Provider | None:
    """The provider ``provider_id`` (read-only use), or ``None`` when there is none."""
    now = time.monotonic()
    entry = _cache.get(provider_id)
    if entry is not None and entry[0] > now:
        return entry[1]
    provider = Provider.objects.filter(id=provider_id).first()
    if provider is None:
        _cache.pop(provider_id, None)
    else:
        _cache[provider_id] = (now + TTL_S, provider)
    return provider


def provider_cache_clear() -> None:
    _cache.clear()


@receiver(post_save, sender=Provider)
@receiver(post_delete, sender=Provider)
def _provider_changed(sender: type[Provider], **kwargs: Any) -> None:
    provider_cache_clear()
