"""Adapter kind → adapter class."""

from __future__ import annotations

from .async_job import AsyncJobAdapter
from .base import ProviderAdapter, ProviderConfig, ProviderPermanentError
from .openai_compatible import OpenAICompatibleAdapter
from .sandbox import SandboxAdapter

ADAPTERS: dict[str, type] = {
    "sandbox": SandboxAdapter,
    "openai_compatible": OpenAICompatibleAdapter,
    "async_job": AsyncJobAdapter,
}


def adapter_for(config: ProviderConfig) -> ProviderAdapter:
    """The adapter for a provider; an unknown kind fails the call permanently."""
    adapter_class = ADAPTERS.get(config.adapter)
    if adapter_class is None:
        raise ProviderPermanentError(
            "adapter_unavailable", f"No adapter {config.adapter!r} for provider {config.id!r}."
        )
    adapter: ProviderAdapter = adapter_class(config)
    return adapter
