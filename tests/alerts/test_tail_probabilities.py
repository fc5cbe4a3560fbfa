from __future__ import annotations

import math

import pytest

from alerts.tail_probabilities import binomial_sf, poisson_sf


def _binomial_brute(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def _poisson_brute(k: int, lam: float) -> float:
    return 1.0 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 10, 0.2), (3, 10, 0.2), (8, 10, 0.2), (10, 10, 0.5), (30, 60, 0.2), (5, 60, 0.2), (12, 60, 0.2)],
)
def test_binomial_tail_matches_the_exact_sum(k: int, n: int, p: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(_binomial_brute(k, n, p), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("k", "lam"), [(0, 3.0), (2, 3.0), (9, 3.0), (25, 12.0)])
def test_poisson_tail_matches_the_exact_sum(k: int, lam: float) -> None:
    assert poisson_sf(k, lam) == pytest.approx(_poisson_brute(k, lam), rel=1e-9, abs=1e-15)


def test_edges_and_large_windows() -> None:
    assert binomial_sf(11, 10, 0.2) == 0.0
    assert binomial_sf(1, 10, 0.0) == 0.0
    assert binomial_sf(10, 10, 1.0) == 1.0
    assert 0.0 < binomial_sf(400, 1000, 0.2) < 1e-40  # far tail of a big window stays finite
    assert binomial_sf(200, 1000, 0.2) == pytest.approx(0.5, abs=0.05)
