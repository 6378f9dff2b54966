"""Distribution-free confidence bounds for a percentile: order statistics and the binomial law.

Of n independent samples, the number that fall at or below the true q-quantile ``x_q`` is
Binomial(n, q) (at least that, with ties). With ``X_(1) <= ... <= X_(n)`` the sorted samples
(ranks counted from 1):

* ``X_(l) <= x_q`` whenever at least ``l`` samples are ``<= x_q``: probability ``P(B >= l)``;
* ``X_(u) >= x_q`` whenever fewer than ``u`` samples are ``< x_q``: probability ``P(B <= u - 1)``,

so ``P(X_(l) <= x_q <= X_(u)) >= P(l <= B <= u - 1)`` whatever the distribution. The interval here
is the equal-tailed one: ``l`` the largest rank with ``P(B <= l - 1) <= alpha / 2`` and ``u`` the
smallest with ``P(B >= u) <= alpha / 2``; each bound alone is then wrong with probability at most
``alpha / 2`` (2.5 % at 95 % confidence). When even the largest sample is not far enough out
(``q ** n > alpha / 2``: fewer than 72 samples for p95, 368 for p99) no upper rank exists: the upper
bound is unknown (None), never the maximum.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

CONFIDENCE = 0.95


def _tail(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return (1.0 - confidence) / 2.0


def quantile_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int | None, int | None]:
    """Ranks ``(l, u)`` (1-based, into the n sorted samples) of the equal-tailed order-statistic
    interval for the ``q``-quantile; either is None when no rank meets its tail (see module)."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    if n <= 0:
        return None, None
    a = _tail(confidence)
    # l - 1 = the largest k with cdf(k) <= a; ppf gives the smallest k with cdf(k) >= a, then
    # step by hand so that rounding inside scipy can never widen the claimed coverage.
    k = int(binom.ppf(a, n, q))
    while k >= 0 and binom.cdf(k, n, q) > a:
        k -= 1
    while k + 1 <= n and binom.cdf(k + 1, n, q) <= a:
        k += 1
    low = k + 1 if k >= 0 else None
    # u - 1 = the smallest j with sf(j) = P(B > j) <= a.
    j = int(binom.isf(a, n, q))
    while j > 0 and binom.sf(j - 1, n, q) <= a:
        j -= 1
    while j <= n and binom.sf(j, n, q) > a:
        j += 1
    up = j + 1 if j + 1 <= n else None
    if low is not None and low > n:
        low = None
    return low, up


def interval(values, q: float, confidence: float = CONFIDENCE) -> list[float | None]:
    """``[low, high]`` of the ``q``-quantile from unsorted ``values`` (a partial sort on two ranks)."""
    x = np.asarray(values, dtype=float)
    low, up = quantile_ranks(len(x), q, confidence)
    kth = [r - 1 for r in (low, up) if r is not None]
    if not kth:
        return [None, None]
    part = np.partition(x, kth)
    return [None if r is None else float(part[r - 1]) for r in (low, up)]


def interval_whatever(values, q: float, unseen: int, confidence: float = CONFIDENCE) -> list[float | None]:
    """``[low, high]`` of the ``q``-quantile once ``unseen`` more samples (still in flight) join
    ``values``, each bound at its worst: the high one as if they were all slower than everything
    seen (None when it would rest on them), the low one as if they were all faster (None likewise)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    low, up = quantile_ranks(n + unseen, q, confidence)
    lo_rank = None if low is None or low - unseen < 1 else low - unseen  # the unseen sit at the bottom
    hi_rank = None if up is None or up > n else up                       # the unseen sit at the top
    kth = [r - 1 for r in (lo_rank, hi_rank) if r is not None]
    if not kth:
        return [None, None]
    part = np.partition(x, kth)
    return [None if r is None else float(part[r - 1]) for r in (lo_rank, hi_rank)]


def min_samples_for_upper(q: float, confidence: float = CONFIDENCE) -> int:
    """Fewest samples for an upper bound of the ``q``-quantile to exist: ``q ** n <= alpha / 2``."""
    return math.ceil(math.log(_tail(confidence)) / math.log(q) - 1e-12)


def coverage(n: int, q: float, low: int | None, up: int | None) -> float:
    """``P(low <= B <= up - 1)`` for B ~ Binomial(n, q): the interval's guaranteed coverage (a
    missing rank is an open end)."""
    lo_k = 0 if low is None else low
    hi_k = n if up is None else up - 1
    if hi_k < lo_k:
        return 0.0
    return float(binom.cdf(hi_k, n, q) - (binom.cdf(lo_k - 1, n, q) if lo_k > 0 else 0.0))


__all__ = ["CONFIDENCE", "coverage", "interval", "interval_whatever", "min_samples_for_upper", "quantile_ranks"]
