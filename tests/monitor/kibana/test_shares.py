"""The share charts' shrinkage and interval: the Python reference and the Vega expressions the charts run
agree, and the figures are the textbook ones."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest

from monitor.kibana.shares import (
    PSEUDO_COUNTS,
    Z90,
    baseline_expr,
    overall_expr,
    share_transforms,
    shrunk_expr,
    wilson_high_expr,
    wilson_low_expr,
)


# the Python reference the Vega expressions are held to
def shrunk(negative: float, total: float, prior: float, k: float = PSEUDO_COUNTS) -> float:
    """(negative + k·prior) / (total + k)."""
    return (negative + k * prior) / (total + k)


def wilson(negative: float, total: float, z: float = Z90) -> tuple[float, float]:
    """The Wilson score interval of negative/total; (0, 1) for no items."""
    if total <= 0:
        return 0.0, 1.0
    share, z2 = negative / total, z * z
    centre = (share + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(share * (1 - share) / total + z2 / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


TERNARY = re.compile(r"^(?P<test>[^?]+)\?(?P<then>.+?):(?P<else>[^:]+)$")


def evaluate(expr: str, **datum: float) -> float:
    """A Vega expression of the kind shares.py writes (arithmetic, sqrt/max/min, one top-level ternary) in Python."""
    match = TERNARY.match(expr)
    if match:
        expr = f"({match['then']}) if ({match['test']}) else ({match['else']})"
    names = {"sqrt": math.sqrt, "max": max, "min": min, "datum": SimpleNamespace(**datum)}
    return float(eval(expr, {"__builtins__": {}}, names))  # the module's own constant expressions


def test_one_negative_item_no_longer_reads_as_all_the_news() -> None:
    assert shrunk(1, 1, 0.2) == pytest.approx(1.8 / 5)  # 36%, not 100%
    assert shrunk(0, 1, 0.2) == pytest.approx(0.8 / 5)  # 16%, not 0%
    assert shrunk(60, 100, 0.2) == pytest.approx(60.8 / 104)  # plenty of items: barely moved
    assert shrunk(0, 0, 0.3) == pytest.approx(0.3)  # no items: the baseline


def test_wilson_interval_textbook_values() -> None:
    low, high = wilson(1, 1)
    assert (round(low, 3), high) == (0.27, 1.0)  # z=1.645: 1 of 1 is plausibly anything above 27%
    low, high = wilson(50, 100)
    assert (round(low, 3), round(high, 3)) == (0.419, 0.581)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(0, 20)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(1.645**2 / (20 + 1.645**2))


@pytest.mark.parametrize(("negative", "total"), [(0, 1), (1, 1), (1, 2), (3, 7), (0, 40), (40, 40), (17, 250)])
def test_the_vega_expressions_compute_what_the_reference_does(negative: int, total: int) -> None:
    datum: dict[str, float] = {"negative": negative, "total": total, "scope_negative": 9, "scope_total": 30}
    datum |= {"all_negative": 40, "all_total": 400}
    datum["overall"] = evaluate(overall_expr(), **datum)
    assert datum["overall"] == pytest.approx(0.1)
    datum["baseline"] = evaluate(baseline_expr(), **datum)
    assert datum["baseline"] == pytest.approx(shrunk(9, 30, 0.1))
    assert evaluate(shrunk_expr(), **datum) == pytest.approx(shrunk(negative, total, datum["baseline"]))
    low, high = wilson(negative, total)
    assert evaluate(wilson_low_expr(), **datum) == pytest.approx(low)
    assert evaluate(wilson_high_expr(), **datum) == pytest.approx(high)


def test_no_news_at_all_keeps_the_expressions_finite() -> None:
    datum = {"negative": 0, "total": 0, "all_negative": 0, "all_total": 0}
    assert evaluate(overall_expr(), **datum) == 0
    assert (evaluate(wilson_low_expr(), **datum), evaluate(wilson_high_expr(), **datum)) == (0, 1)


def test_the_transforms_name_each_figure_once_in_order() -> None:
    produced = [t["as"] for t in share_transforms() if "calculate" in t]
    assert produced == ["overall", "baseline", "raw_share", "negative_share", "low", "high"]
    assert f"{PSEUDO_COUNTS!r}" in shrunk_expr()
