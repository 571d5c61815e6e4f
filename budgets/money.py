"""Dollars ↔ millionths of a dollar (the budgets' exact integer unit)."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

MICRO = Decimal("0.000001")


def to_micros(usd: Decimal | int | str) -> int:
    return int((Decimal(usd) / MICRO).to_integral_value(rounding=ROUND_UP))


def to_usd(micros: int) -> Decimal:
    return (Decimal(micros) * MICRO).quantize(MICRO)
