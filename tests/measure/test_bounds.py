"""Order-statistic confidence bounds against a brute-force binomial computation (exact fractions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from loadgen.measure.bounds import coverage, min_samples_for_upper, quantile_ranks


def brute_ranks(n: int, q: Fraction, tail: Fraction) -> tuple[int | None, int | None]:
    """The equal-tailed ranks by enumeration: pmf of Binomial(n, q) with exact fractions."""
    pmf = [math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)]
    cdf = []
    acc = Fraction(0)
    for p in pmf:
        acc += p
        cdf.append(acc)
    low = None  # largest l (1..n) with P(B <= l - 1) <= tail
    for l in range(1, n + 1):
        if cdf[l - 1] <= tail:
            low = l
    up = None  # smallest u (1..n) with P(B >= u) <= tail
    for u in range(n, 0, -1):
        if 1 - cdf[u - 1] <= tail:
            up = u
    return low, up


@pytest.mark.parametrize("n", [1, 2, 5, 20, 71, 72, 73, 100, 150, 367, 368, 400, 600])
@pytest.mark.parametrize("q", ["95/100", "99/100", "1/2"])
def test_ranks_match_brute_force(n, q):
    qf = Fraction(q)
    assert quantile_ranks(n, float(qf)) == brute_ranks(n, qf, Fraction(1, 40))


def test_guaranteed_coverage_and_one_sided_tails():
    for n in (72, 100, 368, 1000, 5000):
        for q in (0.95, 0.99):
            low, up = quantile_ranks(n, q)
            assert coverage(n, q, low, up) >= 0.95
            # each end alone is wrong at most 2.5 % of the time, and the ranks are the tightest
            assert coverage(n, q, low, None) >= 0.975 and coverage(n, q, None, up) >= 0.975
            if up is not None and up > 1:
                assert coverage(n, q, None, up - 1) < 0.975
            assert coverage(n, q, low + 1, None) < 0.975


def test_no_upper_rank_below_the_minimum_sample_count():
    assert min_samples_for_upper(0.95) == 72 and min_samples_for_upper(0.99) == 368
    assert quantile_ranks(71, 0.95)[1] is None and quantile_ranks(72, 0.95)[1] == 72
    assert quantile_ranks(367, 0.99)[1] is None and quantile_ranks(368, 0.99)[1] == 368
    assert quantile_ranks(0, 0.95) == (None, None)


def test_empirical_coverage_on_a_known_distribution():
    # Exponential latencies: the true p95 is ln(20). The interval must contain it >= 95 % of the time.
    rng = np.random.default_rng(7)
    truth = math.log(20.0)
    n, trials, hits, above = 500, 4000, 0, 0
    low, up = quantile_ranks(n, 0.95)
    for _ in range(trials):
        x = np.sort(rng.exponential(size=n))
        hits += x[low - 1] <= truth <= x[up - 1]
        above += x[up - 1] < truth
    assert hits / trials >= 0.94  # >= 95 % expected; margin for the 4000-trial noise
    assert above / trials <= 0.035


def test_large_n_is_fast_and_near_the_normal_approximation():
    n, q = 10_000_000, 0.99
    low, up = quantile_ranks(n, q)
    sd = math.sqrt(n * q * (1 - q))
    assert abs((n * q - low) / sd - 1.96) < 0.01 and abs((up - n * q) / sd - 1.96) < 0.01


def test_bounds_whatever_the_unseen_samples_are():
    from loadgen.measure.bounds import interval, interval_whatever

    rng = np.random.default_rng(11)
    for n, unseen in ((500, 0), (500, 10), (80, 12), (380, 16)):
        x = rng.exponential(size=n)
        low, high = interval_whatever(x, 0.95, unseen)
        slow = interval(np.concatenate([x, np.full(unseen, np.inf)]), 0.95)[1]
        fast = interval(np.concatenate([x, np.full(unseen, -np.inf)]), 0.95)[0]
        assert high == (None if slow is None or np.isinf(slow) else slow)
        assert low == (None if fast is None or np.isinf(fast) else fast)
