"""Nearest-rank percentiles: pinned vectors, the same in Python, SQL and Redis."""

from __future__ import annotations

import pytest

from telemetry.health import DEFAULTS, health_classify
from telemetry.percentiles import percentile


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (list(range(1, 21)), {50: 10, 95: 19, 99: None}),
        (list(range(1, 101)), {50: 50, 95: 95, 99: 99}),
        ([5, 5, 5, 10], {50: 5, 95: None, 99: None}),
        ([0, 0, 0, 0] * 5, {50: 0, 95: 0, 99: None}),
        ([7], {50: None, 95: None, 99: None}),
        ([], {50: None, 95: None, 99: None}),
        (list(range(1, 201)), {50: 100, 95: 190, 99: 198}),
    ],
)
def test_vectors(values, expected):
    assert {p: percentile(sorted(values), p) for p in (50, 95, 99)} == expected


@pytest.mark.parametrize(
    ("attempts", "failures", "consecutive", "p95", "state"),
    [
        (0, 0, 0, None, "healthy"),
        (100, 5, 0, 1000, "healthy"),
        (100, 20, 0, 1000, "degraded"),
        (100, 60, 0, 1000, "down"),
        (5, 5, 3, None, "degraded"),  # too few samples for a rate, but 3 in a row
        (5, 5, 5, None, "down"),
        (100, 0, 0, 45_000, "degraded"),
    ],
)
def test_health_states(attempts, failures, consecutive, p95, state):
    health = health_classify(
        attempts=attempts,
        attempt_failures=failures,
        consecutive_failures=consecutive,
        p95_ms=p95,
        limits=DEFAULTS,
    )
    assert health.state == state
    assert bool(health.reasons) == (state != "healthy")
