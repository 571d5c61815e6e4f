"""Health: ``healthy`` / ``degraded`` / ``down``. Pure.

Judged on a window of calls (attempts), the current run of consecutive failures and the
24 h p95 latency, against thresholds from ``settings.TELEMETRY_HEALTH`` (a provider's
``settings.latency_objective_ms`` overrides the latency objective).

A provider's health follows its circuit breaker (``generations.services.breaker``): the
figures are the breaker's own (provider-side faults only, in the breaker's window, since
it last closed) and ``breaker_state`` decides ``down``:

- ``down``: the breaker is ``open`` or ``half_open`` (for an operation type, which has no
  breaker: ``consecutive_failures >= down_consecutive_failures``, or at least
  ``min_samples`` attempts with a success rate below ``down_success_rate``);
- ``degraded``: ``consecutive_failures >= degraded_consecutive_failures``, or at least
  ``min_samples`` attempts with a success rate below ``degraded_success_rate``, or p95 above
  the latency objective;

Every reason names its figure: calls (provider attempts) for the failure rules, so a
reason never reads as a "success rate", which the dashboards keep for generations
(completed ÷ (completed + failed)).
- ``healthy`` otherwise (also with no traffic: nothing says otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULTS: dict[str, float] = {
    "min_samples": 10,
    "degraded_success_rate": 0.9,
    "down_success_rate": 0.5,
    "degraded_consecutive_failures": 3,
    "down_consecutive_failures": 5,
    "latency_objective_ms": 30_000,
}


class BreakerFigures(Protocol):
    """What health needs of a provider's circuit breaker (its state and window figures)."""

    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def window_calls(self) -> int: ...
    @property
    def window_failures(self) -> int: ...
    @property
    def window_s(self) -> int: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Health:
    state: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reasons": list(self.reasons)}


def thresholds(overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    merged = dict(DEFAULTS)
    merged.update({k: float(v) for k, v in (overrides or {}).items() if k in DEFAULTS})
    return merged


def health_classify(
    *,
    attempts: int,
    attempt_failures: int,
    consecutive_failures: int,
    p95_ms: float | None,
    limits: Mapping[str, float],
    breaker_state: str | None = None,
    breaker_reason: str = "",
    window: str = "the last hour",
) -> Health:
    """Classify; ``breaker_state`` (a provider's) replaces the figures' ``down`` rules."""
    down: list[str] = []
    degraded: list[str] = []
    if breaker_state not in (None, "closed"):
        label = "circuit half-open" if breaker_state == "half_open" else "circuit open"
        down.append(f"{label}: {breaker_reason}" if breaker_reason else label)
    if breaker_state is None and consecutive_failures >= limits["down_consecutive_failures"]:
        down.append(f"{consecutive_failures} consecutive failures")
    elif consecutive_failures >= limits["degraded_consecutive_failures"]:
        degraded.append(f"{consecutive_failures} consecutive failures")
    if attempts >= limits["min_samples"]:
        rate = (attempts - attempt_failures) / attempts
        failing = f"{attempt_failures} of {attempts} calls failed over {window}"
        if breaker_state is None and rate < limits["down_success_rate"]:
            down.append(f"{failing} (down above {1 - limits['down_success_rate']:.0%})")
        elif rate < limits["degraded_success_rate"]:
            degraded.append(f"{failing} (degraded above {1 - limits['degraded_success_rate']:.0%})")
    if p95_ms is not None and p95_ms > limits["latency_objective_ms"]:
        objective = limits["latency_objective_ms"]
        degraded.append(
            f"p95 latency {p95_ms:.0f} ms (24 h) above the {objective:.0f} ms objective"
        )
    if down:
        return Health("down", tuple(down + degraded))
    if degraded:
        return Health("degraded", tuple(degraded))
    return Health("healthy", ())
