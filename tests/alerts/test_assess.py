from __future__ import annotations

from alerts.assess import assess
from alerts.model import Series
from alerts.rules import parse_rules

RULES = parse_rules(
    {
        "step": "5m",
        "rules": [
            {
                "name": "m",
                "window": "30m",
                "baseline": {
                    "kind": "median",
                    "length": "6h",
                    "bucket": "1h",
                    "min_volume": 100,
                    "min_bucket_volume": 10,
                },
            },
            {"name": "t", "window": "30m", "baseline": {"kind": "trailing", "length": "6h", "min_volume": 100}},
            {
                "name": "e",
                "window": "30m",
                "baseline": {"kind": "ewma", "length": "6h", "half_life": "1h", "min_volume": 100},
            },
            {
                "name": "p",
                "window": "30m",
                "test": {"kind": "poisson"},
                "baseline": {"length": "6h", "min_volume": 100},
            },
        ],
    }
)


def series(window_neg: int, window_tot: int, burst: bool = False) -> Series:
    """Six hours of 20 news / 5 min at 20% negative (optionally one hour of neutral burst), then the window."""
    neg, tot = [4] * 72, [20] * 72
    if burst:
        tot[24:36] = [100] * 12
    per = window_tot // 6
    return Series(neg + [window_neg // 6] * 6, tot + [per] * 6)


def test_doubling_at_volume_breaches_every_test_kind() -> None:
    for rule in RULES.rules:
        verdict = assess(rule, RULES, series(60, 120))
        assert verdict is not None and verdict.breach, rule.name
        assert verdict.volume == 120 and verdict.negatives == 60 and verdict.baseline_share < 0.21


def test_normal_share_and_thin_windows_do_not_breach() -> None:
    rule = RULES.rules[0]
    assert not assess(rule, RULES, series(24, 120)).breach
    low = assess(rule, RULES, series(18, 30))  # 60% negative but under min_volume (40)
    assert low is not None and not low.breach
    assert low.elevated  # too thin to fire on, but a firing alert is not resolved by a quiet hour
    thin_normal = assess(rule, RULES, series(7, 30))
    assert thin_normal is not None and not thin_normal.elevated


def test_median_baseline_ignores_an_earlier_neutral_burst() -> None:
    median = assess(RULES.rules[0], RULES, series(24, 120, burst=True))
    trailing = assess(RULES.rules[1], RULES, series(24, 120, burst=True))
    assert median.baseline_share == 0.2
    assert trailing.baseline_share < 0.13  # diluted by the burst: 20% would look like a 1.6x lift


def test_too_thin_baseline_gives_no_verdict() -> None:
    empty = Series([0] * 78, [1] * 78)
    assert assess(RULES.rules[0], RULES, empty) is None


def test_median_baseline_needs_three_usable_sub_periods() -> None:
    """Two hours of history, one of them a neutral burst: no verdict rather than a diluted norm."""
    neg, tot = [0] * 48 + [4] * 12 + [1] * 12, [0] * 48 + [20] * 12 + [100] * 12
    assert assess(RULES.rules[0], RULES, Series(neg + [10] * 6, tot + [20] * 6)) is None
