"""Experiment statistics: pinned values computed independently, and simulations.

Pure functions only (no database): the whole file runs in a few seconds.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

from experiments import stats
from generations.services.prompts import sticky_assign


def test_wilson_matches_the_quadratic_solution():
    # Independent: the Wilson bounds are the roots p of (p - p̂)² = z² p (1 - p) / n, i.e.
    # (1 + z²/n) p² - (2 p̂ + z²/n) p + p̂² = 0, solved with the quadratic formula.
    x, n, z = 8, 10, 1.959963984540054
    ph = x / n
    a, b, c = 1 + z * z / n, -(2 * ph + z * z / n), ph * ph
    root = math.sqrt(b * b - 4 * a * c)
    expected = ((-b - root) / (2 * a), (-b + root) / (2 * a))
    low, high = stats.wilson_interval(x, n)
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)
    # The published value for 8/10 (e.g. Newcombe 1998 tables): 0.490 - 0.943.
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert stats.wilson_interval(0, 10)[0] == 0.0
    assert stats.wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    ("df", "expected"),
    # Student-t 97.5 % quantiles from the standard tables (scipy.stats.t.ppf(0.975, df)).
    [(1, 12.706204736), (4, 2.776445105), (9, 2.262157163), (29, 2.045229642)],
)
def test_t_quantile_matches_tables(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)


def test_t_interval_of_one_to_five():
    # mean 3, s = sqrt(2.5), se = s / sqrt(5) = 0.707107; half = 2.776445 * 0.707107.
    low, high = stats.t_interval(stats.summary_of([1, 2, 3, 4, 5]))
    assert (low, high) == pytest.approx((3 - 1.963243, 3 + 1.963243), abs=1e-5)
    assert stats.t_interval(stats.summary_of([4])) is None


def _beta_b_beats_a(a1: int, b1: int, a2: int, b2: int) -> float:
    # Closed form of P(X2 > X1), X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), integer a2
    # (Evan Miller, "Formulas for Bayesian A/B testing"):
    # sum_{i=0}^{a2-1} B(a1+i, b1+b2) / ((b2+i) B(1+i, b2) B(a1, b1)).
    def lbeta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return sum(
        math.exp(lbeta(a1 + i, b1 + b2) - math.log(b2 + i) - lbeta(1 + i, b2) - lbeta(a1, b1))
        for i in range(a2)
    )


def test_p_best_boolean_matches_the_beta_closed_form():
    a = stats.summary_of([1] * 30 + [0] * 70)  # posterior Beta(31, 71)
    b = stats.summary_of([1] * 42 + [0] * 58)  # posterior Beta(43, 59)
    expected = _beta_b_beats_a(31, 71, 43, 59)
    probs = stats.p_best("boolean", [a, b])
    assert probs[1] == pytest.approx(expected, abs=0.01)  # 20,000 draws: SE ≈ 0.002
    assert sum(probs) == pytest.approx(1.0)
    assert probs == stats.p_best("boolean", [a, b])  # fixed seed: deterministic


def test_p_best_rating_matches_the_normal_closed_form():
    a = stats.summary_of([3, 4, 3, 5, 4, 3, 4, 2, 4, 3])
    b = stats.summary_of([4, 5, 4, 4, 3, 5, 4, 4, 5, 3])
    # Independent: P(N(mb, sb²/n) > N(ma, sa²/n)) = Φ((mb - ma) / sqrt(sa²/na + sb²/nb)).
    z = (b.mean - a.mean) / math.sqrt(a.variance / a.n + b.variance / b.n)
    expected = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert stats.p_best("rating", [a, b])[1] == pytest.approx(expected, abs=0.01)
    # Lower is better flips it.
    assert stats.p_best("rating", [a, b], higher_is_better=False)[0] == pytest.approx(
        expected, abs=0.01
    )


def _peeking_run(rng: random.Random, rates: tuple[float, float], batches: int, size: int):
    summaries = [stats.EMPTY, stats.EMPTY]
    for _ in range(batches):
        for arm, rate in enumerate(rates):
            hits = sum(rng.random() < rate for _ in range(size))
            summaries[arm] = summaries[arm].merge(stats.Summary(size, hits, hits))
        result = stats.verdict("boolean", summaries)  # checked after every batch
        if result.verdict != "collecting":
            return result
    return stats.Verdict("collecting", None)


def test_aa_experiments_checked_after_every_batch_rarely_declare_a_winner():
    rng = random.Random(7)
    runs = [_peeking_run(rng, (0.3, 0.3), batches=30, size=20) for _ in range(1000)]
    false_winners = sum(r.verdict == "winner" for r in runs)
    assert false_winners / len(runs) <= 0.05, false_winners


def test_a_real_difference_is_found_and_points_the_right_way():
    rng = random.Random(11)
    runs = [_peeking_run(rng, (0.3, 0.45), batches=30, size=20) for _ in range(200)]
    found = [r for r in runs if r.verdict == "winner"]
    assert len(found) / len(runs) >= 0.8, len(found)
    assert all(r.winner == 1 for r in found)


def test_equal_variants_end_as_no_difference_with_enough_data():
    rng = random.Random(3)
    result = _peeking_run(rng, (0.5, 0.5), batches=200, size=100)
    assert result.verdict == "no_difference"


def test_nothing_is_decided_below_the_minimum_sample():
    few = [stats.summary_of([1] * 9), stats.summary_of([0] * 9)]
    assert stats.verdict("boolean", few).verdict == "collecting"
    assert stats.allocation_weights("boolean", few, floor=0.1) == [0.5, 0.5]


def test_adaptive_allocation_shifts_traffic_and_assignments_stay_sticky():
    rng = random.Random(5)
    family = SimpleNamespace(id="family-1")
    versions = [SimpleNamespace(id="v1"), SimpleNamespace(id="v2")]
    rates = {"v1": 0.3, "v2": 0.6}
    summaries = {"v1": stats.EMPTY, "v2": stats.EMPTY}
    assignments: dict[str, str] = {}
    weights = [1.0, 1.0]
    shares = []
    for batch in range(20):
        new = [f"player-{batch}-{i}" for i in range(50)]
        for key in new:
            version, is_new = sticky_assign(family, key, versions, weights, None)
            assert is_new
            assignments[key] = version.id
        # Everyone seen so far comes back: their version never changes with the weights.
        for key, assigned in assignments.items():
            version, is_new = sticky_assign(family, key, versions, weights, assigned)
            assert (version.id, is_new) == (assigned, False)
        for key in new:
            v = assignments[key]
            summaries[v] = summaries[v].add(1.0 if rng.random() < rates[v] else 0.0)
        shares.append(sum(assignments[k] == "v2" for k in new) / len(new))
        weights = stats.allocation_weights(
            "boolean", [summaries["v1"], summaries["v2"]], min_samples=10, floor=0.1
        )
        assert min(weights) >= 0.1 - 1e-9
    assert shares[0] < 0.75  # starts near an even split
    assert sum(shares[-5:]) / 5 > 0.8  # ends mostly on the better variant
