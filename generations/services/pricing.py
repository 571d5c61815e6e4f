"""Cost in USD of a provider result, from the provider's price table. Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ..models import Provider
from ..providers.base import ProviderResult

_MICRO = Decimal("0.000001")


def cost_usd(provider: Provider, result: ProviderResult) -> Decimal:
    """Tokens per 1k, images each, video per second; rounded to a millionth of a dollar."""
    total = (
        Decimal(result.tokens_in) / 1000 * provider.price_per_1k_input_tokens
        + Decimal(result.tokens_out) / 1000 * provider.price_per_1k_output_tokens
        + Decimal(result.images) * provider.price_per_image
        + Decimal(str(result.video_seconds)) * provider.price_per_video_second
    )
    return total.quantize(_MICRO, rounding=ROUND_HALF_UP)
