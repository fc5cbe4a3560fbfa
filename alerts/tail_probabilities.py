"""One-sided tail probabilities for counts (binomial, Poisson), in pure Python with log-gamma.

Sums run outward from the observed count and stop once the terms no longer change the sum, so a test
costs a few dozen terms even for windows of thousands of news.
"""

from __future__ import annotations

import math

_EPS = 1e-16


def _binomial_log_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def _poisson_log_pmf(k: int, lam: float) -> float:
    return k * math.log(lam) - lam - math.lgamma(k + 1)


def _tail_sum(log_pmf: object, start: int, stop: int, step: int) -> float:
    """Σ pmf(i) for i from start towards stop (exclusive), stopping when terms become negligible."""
    total = 0.0
    for i in range(start, stop, step):
        term = math.exp(log_pmf(i))  # type: ignore[operator]
        total += term
        if term <= _EPS * total:
            break
    return total


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(K >= k) for K ~ Binomial(n, p): how surprising k negatives out of n are at share p."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0

    def log_pmf(i: int) -> float:
        return _binomial_log_pmf(i, n, p)

    if k > n * p:
        return min(1.0, _tail_sum(log_pmf, k, n + 1, 1))
    return max(0.0, 1.0 - _tail_sum(log_pmf, k - 1, -1, -1))


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0.0:
        return 0.0

    def log_pmf(i: int) -> float:
        return _poisson_log_pmf(i, lam)

    if k > lam:
        return min(1.0, _tail_sum(log_pmf, k, k + 100_000, 1))
    return max(0.0, 1.0 - _tail_sum(log_pmf, k - 1, -1, -1))
