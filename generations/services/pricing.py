"""Cost in USD of a provider result, and the estimate before create, from the provider's
price table. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from django.conf import settings

from ..models import IMAGE_OPERATIONS, TEXT_OPERATIONS, Provider
from ..providers.base import ProviderResult

_MICRO = Decimal("0.000001")
# Seconds of video assumed when a request names no duration (the sandbox's default too).
DEFAULT_VIDEO_SECONDS = 5.0


def cost_usd(provider: Provider, result: ProviderResult) -> Decimal:
    """Tokens per 1k, images each, video per second; rounded to a millionth of a dollar."""
    total = (
        Decimal(result.tokens_in) / 1000 * provider.price_per_1k_input_tokens
        + Decimal(result.tokens_out) / 1000 * provider.price_per_1k_output_tokens
        + Decimal(result.images) * provider.price_per_image
        + Decimal(str(result.video_seconds)) * provider.price_per_video_second
    )
    return total.quantize(_MICRO, rounding=ROUND_HALF_UP)


def prompt_tokens_estimate(text: str) -> int:
    """One token per 4 characters of the final prompt, rounded up (0 for no prompt)."""
    return math.ceil(len(text) / 4) if text else 0


def output_tokens_allowance(provider_id: str, config: Mapping[str, Any]) -> int:
    """The node's output allowance: ``style.<provider>.max_tokens``, else
    ``GENPIPE_BUDGET_TEXT_OUTPUT_TOKENS``."""
    block = ((config.get("style") or {}).get(provider_id)) or {}
    allowance = block.get("max_tokens") if isinstance(block, Mapping) else None
    if isinstance(allowance, int) and not isinstance(allowance, bool) and allowance > 0:
        return allowance
    return int(getattr(settings, "GENPIPE_BUDGET_TEXT_OUTPUT_TOKENS", 512))


def video_seconds_estimate(config: Mapping[str, Any]) -> float:
    """The requested duration's ``max``, else its ``target``, else the default."""
    duration = config.get("duration") or {}
    for key in ("max", "target"):
        if duration.get(key):
            return float(duration[key])
    return DEFAULT_VIDEO_SECONDS


def cost_estimate(
    provider: Provider, operation_type: str, final_prompt: str, config: Mapping[str, Any]
) -> Decimal:
    """What one successful call should cost at most, rounded up to a millionth of a dollar.

    Every operation pays its prompt's input tokens; text operations add the output
    allowance, image operations one image, video operations the requested seconds.
    """
    total = (
        Decimal(prompt_tokens_estimate(final_prompt)) / 1000 * (provider.price_per_1k_input_tokens)
    )
    if operation_type in TEXT_OPERATIONS:
        allowance = output_tokens_allowance(provider.id, config)
        total += Decimal(allowance) / 1000 * provider.price_per_1k_output_tokens
    elif operation_type in IMAGE_OPERATIONS:
        total += provider.price_per_image
    else:
        seconds = Decimal(str(video_seconds_estimate(config)))
        total += seconds * provider.price_per_video_second
    return total.quantize(_MICRO, rounding=ROUND_UP)
