"""A known-baseline oracle for `finmon alerts simulate`: what any detector could do on the same streams.

It knows the share each news item was drawn with before any surge and each scope's true rate of news and of
negatives at every minute (which no real detector does). It scans every window of 5 minutes to 8 hours ending
at each step with two one-sided likelihood ratios, and takes the larger: the binomial one of the window's
negatives against the shares of its news (a share surge), and the Poisson one of its negatives against the
negatives the true rate and share give (a burst; floods of neutral news add none). It fires where that
crosses a per-scope threshold set on surge-free streams of the same simulator (same scale and weeks, other
seeds, with their floods and syndicated copies) for the false-alarm rate asked for. It is scored on the same
target surges as the detector (realised p < 1e-3 with >= 5 negatives), per volume band, and on the same
company events (their negatives' Poisson p < 1e-3 with >= 5 negatives), per event band. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from alerts.lab.simulate import (
    GRACE,
    START,
    TARGET_NEGATIVES,
    TARGET_P,
    TICKERS,
    TOPICS,
    SimConfig,
    Stream,
    Tally,
    _band_order,
    band,
    event_band,
    generate,
    null_shares,
    realised_count_p,
    realised_p,
)
from alerts.scopes import ScopeKey

STEP_MIN = 5
MAX_WINDOW_STEPS = 96  # 8 hours of 5-minute steps
WARM_UP_MIN = 2 * 1440  # surges start after two days; the null streams are not judged before either
CALIBRATION_SEED0 = 101  # null streams use seeds 101, 102, ...: never those that `--seeds N` scores


Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # news, negatives, expected: given news, true rate


def scope_steps(stream: Stream, step_min: int = STEP_MIN) -> dict[ScopeKey, Counts]:
    """Per topic and ticker, per step: news, negatives, the negatives expected from those news' known shares and
    the negatives expected from the scope's true rate and share (no news needed)."""
    steps = stream.minute.max() // step_min + 1 if len(stream.minute) else 0
    bucket = stream.minute // step_min
    expected = null_shares(stream, np.ones(len(bucket), dtype=bool))
    out: dict[ScopeKey, Counts] = {}
    for kind, names, column in (("topic", TOPICS, stream.topic), ("ticker", TICKERS, stream.ticker)):
        for i, (name, _) in enumerate(names):
            rows = column == i
            news, negatives, drawn = (
                np.bincount(bucket[rows], weights=w, minlength=steps).astype(float)
                for w in (None, stream.negative[rows].astype(float), expected[rows])
            )
            true_rate = _per_step(stream.expected[ScopeKey(kind, name)][1], step_min, steps)
            out[ScopeKey(kind, name)] = (news, negatives, drawn, true_rate)
    return out


def _per_step(per_minute: np.ndarray, step_min: int, steps: int) -> np.ndarray:
    padded = np.zeros(steps * step_min)
    size = min(len(per_minute), len(padded))
    padded[:size] = per_minute[:size]
    return padded.reshape(steps, step_min).sum(axis=1)


def scan(news: np.ndarray, negatives: np.ndarray, expected: np.ndarray, windows: int = MAX_WINDOW_STEPS) -> np.ndarray:
    """Per step: the largest one-sided binomial log-likelihood ratio (nats) over the windows of 1..`windows`
    steps ending there, of the window's share against its expected negatives."""
    cum = [np.concatenate([[0.0], np.cumsum(x)]) for x in (news, negatives, expected)]
    best = np.zeros(len(news))
    for length in range(1, min(windows, len(news)) + 1):
        n, k, e = (c[length:] - c[:-length] for c in cum)
        with np.errstate(divide="ignore", invalid="ignore"):
            llr = np.where(k > 0, k * np.log(k / e), 0.0) + np.where(n > k, (n - k) * np.log((n - k) / (n - e)), 0.0)
        llr = np.where((k > e) & (n > 0), np.nan_to_num(llr), 0.0)
        np.maximum(best[length - 1 :], llr, out=best[length - 1 :])
    return best


def count_scan(negatives: np.ndarray, expected: np.ndarray, windows: int = MAX_WINDOW_STEPS) -> np.ndarray:
    """Per step: the largest one-sided Poisson log-likelihood ratio (nats) over the windows of 1..`windows`
    steps ending there, of the window's negatives against the negatives its true rate and share give."""
    cum = [np.concatenate([[0.0], np.cumsum(x)]) for x in (negatives, expected)]
    best = np.zeros(len(negatives))
    for length in range(1, min(windows, len(negatives)) + 1):
        k, e = (c[length:] - c[:-length] for c in cum)
        with np.errstate(divide="ignore", invalid="ignore"):
            llr = np.where(k > 0, k * np.log(k / e), 0.0) - (k - e)
        llr = np.where((k > e) & (e > 0), np.nan_to_num(llr), 0.0)
        np.maximum(best[length - 1 :], llr, out=best[length - 1 :])
    return best


def upcrossings(stat: np.ndarray, level: float) -> int:
    """How many times `stat` goes from below `level` to at or above it (an alarm each)."""
    above = stat >= level
    return int(above[0]) + int(np.sum(above[1:] & ~above[:-1]))


def scans(stream: Stream) -> dict[ScopeKey, np.ndarray]:
    """Every scope's scan statistic per step, zero during the warm-up."""
    out = {
        scope: np.maximum(scan(news, negatives, drawn), count_scan(negatives, true_rate))
        for scope, (news, negatives, drawn, true_rate) in scope_steps(stream).items()
    }
    for stat in out.values():
        stat[: WARM_UP_MIN // STEP_MIN] = 0.0
    return out


def calibrate(null_scans: Sequence[dict[ScopeKey, np.ndarray]], weeks: float, rate: float) -> dict[ScopeKey, float]:
    """Per scope: the lowest threshold (to 0.01 nat) with at most `rate` upcrossings per week over the null scans
    (`weeks` each)."""
    thresholds: dict[ScopeKey, float] = {}
    for scope in null_scans[0]:
        stats = [s[scope] for s in null_scans]
        low, high = 0.0, 60.0
        while high - low > 0.01:
            mid = (low + high) / 2
            alarms = sum(upcrossings(stat, mid) for stat in stats)
            low, high = (mid, high) if alarms > rate * weeks * len(stats) else (low, mid)
        thresholds[scope] = high
    return thresholds


def null_config(config: SimConfig, seed: int) -> SimConfig:
    """The same simulator without surges, shifts or events (volume bursts, syndication and drift stay)."""
    return dataclasses.replace(config, seed=seed, surges_per_scope_week=0.0, shifts=0, events_per_scope_week=0.0)


def delay(stat: np.ndarray, threshold: float, start_min: int, minutes: int) -> float | None:
    """Minutes from the onset to the end of the first step at or above `threshold`, from the onset's step up
    to GRACE after the end (as an episode counts for a surge), or None."""
    first, last = start_min // STEP_MIN, (start_min + minutes + int(GRACE / timedelta(minutes=1))) // STEP_MIN
    hit = np.nonzero(stat[first:last] >= threshold)[0]
    return float((first + hit[0] + 1) * STEP_MIN - start_min) if len(hit) else None


@dataclass
class OracleReport:
    """The oracle's recall and delay per band on the target surges (reports of several seeds add up)."""

    thresholds: dict[ScopeKey, float] = field(default_factory=dict)
    target: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    events: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def add(self, other: OracleReport) -> OracleReport:
        for mine_group, theirs in ((self.target, other.target), (self.events, other.events)):
            for name, tally in theirs.items():
                mine = mine_group[name]
                mine.surges, mine.detected, mine.delays = (
                    mine.surges + tally.surges,
                    mine.detected + tally.detected,
                    mine.delays + tally.delays,
                )
        return self

    def summary(self) -> dict[str, Any]:
        return {
            "thresholds_nats": {":".join(k): round(v, 2) for k, v in sorted(self.thresholds.items())},
            "target_by_band": {k: v.summary() for k, v in sorted(self.target.items(), key=_band_order)},
            "events_by_band": {k: v.summary() for k, v in sorted(self.events.items(), key=_band_order)},
        }


def score(stream: Stream, thresholds: dict[ScopeKey, float]) -> OracleReport:
    """The oracle on one stream: which target surges (not shifts) and events its scan catches and how late."""
    stats = scans(stream)
    report = OracleReport(thresholds=thresholds)
    for surge in stream.surges:
        event = surge.kind == "event"
        p, neg, _ = realised_count_p(stream, surge) if event else realised_p(stream, surge)
        if surge.kind == "shift" or p >= TARGET_P or neg < TARGET_NEGATIVES:
            continue
        start = int((surge.start - START) / timedelta(minutes=1))
        found = delay(stats[surge.scope], thresholds[surge.scope], start, surge.minutes)
        group = report.events if event else report.target
        group[event_band(surge.rate) if event else band(surge.rate)].add(found)
        group["all bands"].add(found)
    return report


def oracle(config: SimConfig, seeds: Iterable[int], calibration_seeds: int, rate: float) -> dict[str, Any]:
    """Calibrate on `calibration_seeds` surge-free streams, then score the oracle on `seeds`, pooled."""
    nulls = [scans(generate(null_config(config, CALIBRATION_SEED0 + i))) for i in range(calibration_seeds)]
    thresholds = calibrate(nulls, config.weeks, rate)
    pooled = OracleReport(thresholds=thresholds)
    for seed in seeds:
        pooled.add(score(generate(dataclasses.replace(config, seed=seed)), thresholds))
    return {"calibration_seeds": calibration_seeds, "false_alarms_per_week": rate, **pooled.summary()}


def oracle_table(detector: dict[str, Any], oracle_figures: dict[str, Any]) -> str:
    """The oracle's recall and median delay per band beside the detector's (markdown)."""
    rows = [
        "| band (news/h at onset) | target surges (oracle) | oracle recall | oracle median delay (min) "
        "| detector recall | detector median delay (min) |",
        "|---|---|---|---|---|---|",
    ]
    for group in ("target_by_band", "events_by_band"):
        prefix = "events " if group == "events_by_band" else ""
        for name, o in oracle_figures[group].items():
            d = detector[group].get(name, {})
            rows.append(
                f"| {prefix}{name} | {o['surges']} | {o['recall']} | {o['delay_min_median']} "
                f"| {d.get('recall')} | {d.get('delay_min_median')} |"
            )
    return "\n".join(rows)


__all__ = [
    "OracleReport",
    "calibrate",
    "count_scan",
    "delay",
    "oracle",
    "oracle_table",
    "scan",
    "scope_steps",
    "score",
    "upcrossings",
]
