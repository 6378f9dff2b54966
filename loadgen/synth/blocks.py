"""Deterministic random streams: everything is a pure function of (seed, block, stream).

Customers are generated in fixed blocks of :data:`BLOCK` customers. Block ``b``'s random numbers come
from a generator seeded with ``(seed, b, stream)``, so customer ``k``'s content (and its order
history) does not depend on how many customers were asked for, in which chunks they were written,
or which engine receives them: growing 10 k -> 25 k writes the same rows as a fresh 25 k.
"""

from __future__ import annotations

import numpy as np

BLOCK = 20_000  # customers per block: big enough to vectorise well, small enough for ~100 MB peaks

# Stream ids keep independent draws independent (changing one never shifts another).
STREAM_CUSTOMERS = 1
STREAM_HISTORY = 2
STREAM_CATALOGUE = 3
STREAM_PHONES = 4


def rng_for(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(block), int(stream)])


def weighted(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights; inverse-CDF so it vectorises."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


__all__ = ["BLOCK", "rng_for", "weighted", "STREAM_CUSTOMERS", "STREAM_HISTORY", "STREAM_CATALOGUE",
           "STREAM_PHONES"]
