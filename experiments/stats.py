"""Statistics of prompt experiments: pure functions, no database (see docs/statistics.md).

- ``interval``: 95 % Wilson score interval for boolean metrics, Student-t interval for
  float and rating metrics.
- ``p_best``: probability that each variant is the best, by Monte Carlo from posteriors
  (Beta(1 + successes, 1 + failures) for boolean, normal N(mean, s²/n) otherwise) with a
  fixed seed, so the same data always gives the same figures.
- ``verdict``: an always-valid mixture sequential probability ratio test (mSPRT) on each
  pairwise difference of means, Bonferroni-split, so a dashboard may look after every
  batch without inflating false winners; ``no_difference`` once every pairwise confidence
  sequence lies inside the equivalence margin.
- ``allocation_weights``: Thompson sampling weights with a minimum sample per variant and a
  floor weight.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # standard normal 97.5 % quantile
ALPHA = 0.05
MIN_SAMPLES = 10
DRAWS = 20_000
SEED = 20_261_201
# Mixing standard deviation of the mSPRT prior on a difference, in units of the metric's
# standard deviation (a standardized effect of 0.2 is the size the test is most sensitive to).
MIXING_EFFECT = 0.2
# Differences smaller than this (in the metric's units) count as "no difference".
EQUIVALENCE = {"boolean": 0.05, "rating": 0.25, "float": None}  # float: 0.1 sd
VERDICTS = ("collecting", "no_difference", "winner")


@dataclass(frozen=True)
class Summary:
    """Sufficient statistics of one variant on one metric."""

    n: int
    total: float  # sum of values
    total_sq: float  # sum of squared values

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Unbiased sample variance (None below two values)."""
        if self.n < 2:
            return None
        mean = self.total / self.n
        return max(self.total_sq - self.n * mean * mean, 0.0) / (self.n - 1)

    def add(self, value: float) -> Summary:
        return Summary(self.n + 1, self.total + value, self.total_sq + value * value)

    def merge(self, other: Summary) -> Summary:
        return Summary(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)


EMPTY = Summary(0, 0.0, 0.0)


def summary_of(values: Sequence[float]) -> Summary:
    return Summary(len(values), float(sum(values)), float(sum(v * v for v in values)))


# --- intervals -------------------------------------------------------------------------


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (Wilson 1927)."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    ln += b * math.log1p(-x)
    front = math.exp(ln)
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student-t distribution function."""
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse of ``t_cdf`` by bisection (p in (0, 1))."""
    low, high = -1e3, 1e3
    for _ in range(200):
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def t_interval(s: Summary, level: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval of a mean (None below two values)."""
    variance = s.variance
    if variance is None or s.mean is None:
        return None
    half = t_quantile(1 - (1 - level) / 2, s.n - 1) * math.sqrt(variance / s.n)
    return s.mean - half, s.mean + half


def interval(kind: str, s: Summary) -> tuple[float, float] | None:
    if kind == "boolean":
        return wilson_interval(s.total, s.n)
    return t_interval(s)


# --- probability of being best ---------------------------------------------------------


def _sampler(kind: str, s: Summary, rng: random.Random):  # type: ignore[no-untyped-def]
    if kind == "boolean":
        a, b = 1.0 + s.total, 1.0 + s.n - s.total
        return lambda: rng.betavariate(a, b)
    mean = s.mean if s.mean is not None else 0.0
    variance = s.variance
    # Too few values for a spread: a wide posterior around what we have.
    sd = math.sqrt(variance / s.n) if variance is not None and s.n else 1e6
    return lambda: rng.gauss(mean, sd)


def p_best(
    kind: str,
    summaries: Sequence[Summary],
    *,
    higher_is_better: bool = True,
    draws: int = DRAWS,
    seed: int = SEED,
) -> list[float]:
    """Monte Carlo probability that each variant has the best mean (fixed seed)."""
    if not summaries:
        return []
    rng = random.Random(seed)
    samplers = [_sampler(kind, s, rng) for s in summaries]
    wins = [0] * len(summaries)
    sign = 1.0 if higher_is_better else -1.0
    for _ in range(draws):
        values = [sign * sample() for sample in samplers]
        wins[values.index(max(values))] += 1
    return [w / draws for w in wins]


# --- sequential verdict ----------------------------------------------------------------


def _variance_for_test(kind: str, s: Summary) -> float:
    if kind == "boolean":
        p = (s.total + 1) / (s.n + 2)  # smoothed: no zero variance at 10/10
        return p * (1 - p)
    return max(s.variance or 0.0, 1e-12)


@dataclass(frozen=True)
class PairTest:
    difference: float  # mean of a minus mean of b
    lower: float  # confidence sequence on the difference, at the split level
    upper: float
    rejects: bool  # the mSPRT rejects "no difference"


def pair_test(kind: str, a: Summary, b: Summary, *, alpha: float) -> PairTest:
    """mSPRT of Johari, Pekelis & Walsh (2017) with a normal mixture on the difference.

    With the plug-in variance V of the estimated difference and a N(0, τ²) mixture, the
    mixture likelihood ratio is sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))); the test
    rejects when it reaches 1/alpha, which is equivalent to 0 leaving the confidence sequence
    θ̂ ± sqrt(V (V + τ²) / τ² · (log((V + τ²) / V) + 2 log(1/alpha))).
    """
    va, vb = _variance_for_test(kind, a), _variance_for_test(kind, b)
    v = va / a.n + vb / b.n
    tau2 = (MIXING_EFFECT**2) * (va + vb) / 2
    diff = (a.mean or 0.0) - (b.mean or 0.0)
    half = math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) + 2 * math.log(1 / alpha)))
    return PairTest(diff, diff - half, diff + half, abs(diff) > half)


def equivalence_margin(kind: str, summaries: Sequence[Summary]) -> float:
    fixed = EQUIVALENCE.get(kind)
    if fixed is not None:
        return fixed
    variances = [s.variance for s in summaries if s.variance is not None]
    return 0.1 * math.sqrt(sum(variances) / len(variances)) if variances else 0.0


@dataclass(frozen=True)
class Verdict:
    verdict: str  # collecting | no_difference | winner
    winner: int | None  # index into the summaries


def verdict(
    kind: str,
    summaries: Sequence[Summary],
    *,
    higher_is_better: bool = True,
    alpha: float = ALPHA,
    min_samples: int = MIN_SAMPLES,
) -> Verdict:
    """Anytime-valid verdict: safe to compute after every new value.

    ``winner`` when the variant with the best mean beats every other one in its pairwise
    mSPRT (alpha split over the k-1 comparisons); ``no_difference`` when every pairwise
    confidence sequence lies inside ± the equivalence margin; else ``collecting``. Nothing
    is decided before every variant has ``min_samples`` values.
    """
    if len(summaries) < 2 or any(s.n < max(min_samples, 2) for s in summaries):
        return Verdict("collecting", None)
    sign = 1.0 if higher_is_better else -1.0
    best = max(range(len(summaries)), key=lambda i: sign * (summaries[i].mean or 0.0))
    split = alpha / (len(summaries) - 1)
    tests = [
        pair_test(kind, summaries[best], s, alpha=split)
        for i, s in enumerate(summaries)
        if i != best
    ]
    if all(t.rejects and sign * t.difference > 0 for t in tests):
        return Verdict("winner", best)
    margin = equivalence_margin(kind, summaries)
    if margin > 0 and all(-margin < t.lower and t.upper < margin for t in tests):
        return Verdict("no_difference", None)
    return Verdict("collecting", None)


# --- adaptive allocation ---------------------------------------------------------------


def allocation_weights(
    kind: str,
    summaries: Sequence[Summary],
    *,
    higher_is_better: bool = True,
    min_samples: int = MIN_SAMPLES,
    floor: float = 0.05,
    seed: int = SEED,
    draws: int = 4_000,
) -> list[float]:
    """Thompson sampling allocation: each variant's share of new assignments.

    Until every variant has ``min_samples`` values, variants below it share the traffic
    equally (the others get the floor). Afterwards the share is the probability of being
    best, raised to ``floor`` and renormalized, so no variant is starved.
    """
    k = len(summaries)
    if k == 0:
        return []
    floor = min(max(floor, 0.0), 1.0 / k)
    short = [s.n < min_samples for s in summaries]
    if any(short):
        n_short = sum(short)
        rest = 1.0 - floor * (k - n_short)
        return [rest / n_short if is_short else floor for is_short in short]
    probs = p_best(kind, summaries, higher_is_better=higher_is_better, seed=seed, draws=draws)
    # Floor, then spread the remainder in proportion to the excess over the floor.
    excess = [max(p - floor, 0.0) for p in probs]
    spare = 1.0 - floor * k
    total = sum(excess)
    if total <= 0:
        return [1.0 / k] * k
    return [floor + spare * e / total for e in excess]
