"""Turn one scope's bucketed counts into a verdict: window share vs baseline share, test, lift, volume."""

from __future__ import annotations

import statistics

from alerts.model import Assessment, Series
from alerts.rules import Rule, Rules
from alerts.stats import binomial_sf, poisson_sf, z_score


def median_share(rule: Rule, rules: Rules, negatives: list[int], totals: list[int]) -> float | None:
    """Median of the per-sub-period shares (sub-periods with too few news skipped); None if under 3 remain."""
    size = rules.buckets(rule.baseline.bucket)
    shares = []
    for lo in range(0, len(totals), size):
        tot = sum(totals[lo : lo + size])
        if tot >= rule.baseline.min_bucket_volume:
            shares.append(sum(negatives[lo : lo + size]) / tot)
    return statistics.median(shares) if len(shares) >= 3 else None


def baseline_share(rule: Rule, rules: Rules, negatives: list[int], totals: list[int]) -> float | None:
    """The baseline's negative share, kept off 0 and 1 by half a news item so that it stays testable.

    None for a median baseline with fewer than 3 usable sub-periods: not established yet (e.g. the first hours
    of a new scope), where one burst of neutral news would otherwise pass for the norm.
    """
    floor = 0.5 / (sum(totals) + 1.0)
    if rule.baseline.kind == "median":
        median = median_share(rule, rules, negatives, totals)
        return None if median is None else min(max(median, floor), 1.0 - floor)
    if rule.baseline.kind == "ewma":
        step_s = rules.step.total_seconds()
        half_life_steps = rule.baseline.half_life.total_seconds() / step_s
        ages = range(len(totals) - 1, -1, -1)  # the bucket just before the window has age 0
        weights = [0.5 ** (age / half_life_steps) for age in ages]
        neg = sum(w * n for w, n in zip(weights, negatives, strict=True))
        tot = sum(w * t for w, t in zip(weights, totals, strict=True))
    else:
        neg, tot = float(sum(negatives)), float(sum(totals))
    return (neg + 0.5) / (tot + 1.0)


def p_value(rule: Rule, negatives: int, volume: int, share: float) -> float:
    if rule.test.kind == "poisson":
        return poisson_sf(negatives, volume * share)
    return binomial_sf(negatives, volume, share)


def assess(rule: Rule, rules: Rules, series: Series) -> Assessment | None:
    """The verdict on the window at the end of `series`; None when the baseline is too thin to judge."""
    window = rules.buckets(rule.window)
    base_neg, base_tot = series.negatives[:-window], series.totals[:-window]
    baseline_volume = sum(base_tot)
    if baseline_volume < rule.baseline.min_volume:
        return None
    negatives, volume = sum(series.negatives[-window:]), sum(series.totals[-window:])
    base = baseline_share(rule, rules, base_neg, base_tot)
    if base is None:
        return None
    share = negatives / volume if volume else 0.0
    lift = share / base
    p = p_value(rule, negatives, volume, base) if volume else 1.0
    enough = volume >= rule.min_volume
    return Assessment(
        negatives=negatives,
        volume=volume,
        share=share,
        baseline_share=base,
        baseline_volume=baseline_volume,
        lift=lift,
        p_value=p,
        z=z_score(negatives, volume, base),
        breach=enough and lift >= rule.test.min_lift and p < rule.test.max_p_value,
        # No volume floor here: a firing alert over a thin window (night, a ticker's quiet hour) stays firing
        # while the news there is still significantly negative, and resolves when it is not.
        elevated=volume > 0 and lift >= rule.resolve.min_lift and p < rule.resolve.max_p_value,
    )
