"""Percentiles by the nearest-rank method. Pure functions.

For ``n`` ascending samples the p-th percentile is the sample at rank
``ceil(p / 100 * n)`` (1-based): always an observed value, duplicates counted. A percentile
is reported only when there are enough samples to tell it apart from the maximum, that is
``n >= ceil(100 / (100 - p))``: p50 needs 2 samples, p95 20 and p99 100. Otherwise it is
``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES: tuple[int, ...] = (50, 95, 99)


def min_samples(p: float) -> int:
    return math.ceil(100 / (100 - p) - 1e-9)


def nearest_rank(n: int, p: float) -> int | None:
    """The 1-based rank of the p-th percentile among ``n`` samples, or ``None``."""
    if n < max(1, min_samples(p)):
        return None
    return max(1, math.ceil(p / 100 * n - 1e-9))


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    rank = nearest_rank(len(sorted_values), p)
    return None if rank is None else sorted_values[rank - 1]
