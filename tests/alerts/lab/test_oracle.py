"""The known-baseline scan oracle of `finmon alerts simulate --oracle` on small arrays and a short stream."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
from short_stream import SHORT, stream

from alerts.lab.oracle import (
    STEP_MIN,
    WARM_UP_MIN,
    calibrate,
    count_scan,
    delay,
    null_config,
    oracle,
    oracle_table,
    scan,
    scans,
    scope_steps,
    score,
    upcrossings,
)
from alerts.lab.simulate import START, TICKERS, TOPICS, SimConfig, Stream, Surge, generate


def test_scan_takes_the_best_window_ending_at_each_step() -> None:
    news, negatives, expected = np.full(3, 10.0), np.array([2.0, 8.0, 2.0]), np.full(3, 2.0)
    best = scan(news, negatives, expected)
    assert best[0] == 0.0  # as many negatives as expected: no evidence
    assert math.isclose(best[1], 8 * math.log(4) + 2 * math.log(2 / 8))  # the one-step window
    assert math.isclose(best[2], 10 * math.log(2.5) + 10 * math.log(10 / 16))  # steps 1-2 beat 2 and 0-2
    assert scan(news, negatives, expected, windows=1)[2] == 0.0


def test_count_scan_weighs_negatives_against_the_true_rate_whatever_the_news() -> None:
    negatives, expected = np.array([1.0, 9.0, 1.0]), np.full(3, 1.0)
    best = count_scan(negatives, expected)
    assert best[0] == 0.0
    assert math.isclose(best[1], 9 * math.log(9) - 8)  # the one-step window
    assert math.isclose(best[2], 10 * math.log(10 / 2) - 8)  # steps 1-2 beat step 2 alone
    assert count_scan(np.zeros(3), expected).max() == 0.0  # a flood of neutral news adds no negatives


def test_upcrossings_count_alarms_not_steps_above() -> None:
    stat = np.array([5.0, 1.0, 6.0, 7.0, 2.0, 9.0])
    assert upcrossings(stat, 4.0) == 3
    assert upcrossings(stat, 8.0) == 1
    assert upcrossings(stat, 10.0) == 0


def test_calibrate_finds_the_lowest_level_within_the_rate() -> None:
    quiet = np.zeros(100)
    quiet[[10, 50, 90]] = [3.0, 5.0, 8.0]
    thresholds = calibrate([{("topic", "x"): quiet}], weeks=1.0, rate=1.0)
    assert 5.0 < thresholds[("topic", "x")] <= 5.01  # one alarm (the 8) allowed, the 5 not
    assert calibrate([{("topic", "x"): quiet}], weeks=1.0, rate=3.0)[("topic", "x")] <= 0.01


def test_scope_steps_count_each_scopes_news_and_expected_negatives() -> None:
    s = stream()
    counts = scope_steps(s)
    assert set(counts) == {("topic", n) for n, _ in TOPICS} | {("ticker", n) for n, _ in TICKERS}
    news, negatives, expected, true_rate = counts[("topic", "markets")]
    assert news.sum() == np.sum(s.topic == 0) and negatives.sum() == np.sum(s.negative[s.topic == 0])
    assert 0 < expected.sum() < news.sum()
    assert len(news) == len(true_rate) == SHORT.minutes // STEP_MIN
    assert 0.8 < true_rate.sum() / expected.sum() < 1.2  # the true rate's negatives match the drawn news' ones


def test_scans_are_silent_during_the_warm_up() -> None:
    stats = scans(stream())
    assert all(not stat[: WARM_UP_MIN // STEP_MIN].any() for stat in stats.values())
    assert any(stat.max() > 0 for stat in stats.values())


def test_delay_is_counted_from_the_onset_to_the_end_of_the_first_step_above() -> None:
    stat = np.zeros(100)
    stat[12] = 20.0  # the step 60-65 min
    assert delay(stat, 10.0, start_min=52, minutes=15) == 13.0
    assert delay(stat, 10.0, start_min=20, minutes=5) is None  # 30 min of grace end at 55
    assert delay(stat, 30.0, start_min=52, minutes=15) is None


def test_the_null_streams_have_no_surges() -> None:
    assert not generate(null_config(SHORT, 101)).surges


def test_score_catches_a_strong_surge_and_pools_per_band() -> None:
    s = stream()
    surge = next(x for x in s.surges if x.scope == ("topic", "markets") and x.kind == "step")
    a = int((surge.start - START) / timedelta(minutes=1))
    inside = (s.topic == 0) & (s.minute >= a) & (s.minute < a + surge.minutes)
    negative = s.negative | inside  # every news of the surge negative: a realised p far below 1e-3
    one = Surge(surge.scope, "step", surge.start, surge.minutes, 4.0, surge.rate)
    s = Stream(s.minute, s.second, s.topic, s.ticker, negative, s.story, s.base, [one], s.expected)
    report = score(s, {scope: 15.0 for scope in scope_steps(s)}).summary()
    assert report["target_by_band"]["all bands"]["detected"] == 1
    assert report["target_by_band"]["all bands"]["delay_min_median"] <= 10


def test_score_catches_a_company_event_on_its_negatives() -> None:
    s = stream()
    event = next(x for x in s.surges if x.kind == "event" and x.scope[0] == "ticker")
    a = int((event.start - START) / timedelta(minutes=1))
    row = [n for n, _ in TICKERS].index(event.scope[1])
    extra = 40  # a burst of negative news in the event's first minutes
    minute = np.concatenate([s.minute, np.full(extra, a + 1)])
    cols = [np.concatenate([c, np.full(extra, v)]) for c, v in ((s.topic, 0), (s.ticker, row), (s.story, -1))]
    negative = np.concatenate([s.negative, np.ones(extra, dtype=bool)])
    second = np.concatenate([s.second, np.zeros(extra, dtype=int)])
    s = Stream(minute, second, cols[0], cols[1], negative, cols[2], s.base, [event], s.expected)
    report = score(s, {scope: 15.0 for scope in scope_steps(s)}).summary()
    assert report["events_by_band"]["all bands"]["detected"] == 1 and report["target_by_band"] == {}
    assert report["events_by_band"]["all bands"]["delay_min_median"] <= 10


def test_oracle_figures_and_their_table() -> None:
    figures = oracle(SimConfig(weeks=1, seed=3, scale=0.05), [3], calibration_seeds=1, rate=0.1)
    assert figures["calibration_seeds"] == 1 and len(figures["thresholds_nats"]) == len(TOPICS) + len(TICKERS)
    assert figures["events_by_band"]["all bands"]["surges"] > 0
    detector = {
        "target_by_band": {"all bands": {"recall": 0.5, "delay_min_median": 30}},
        "events_by_band": {"all bands": {"recall": 0.9, "delay_min_median": 10}},
    }
    lines = oracle_table(detector, figures).splitlines()
    assert lines[0].startswith("| band") and any("| 0.5 | 30 |" in line for line in lines)
    assert lines[-1].startswith("| events all bands") and lines[-1].endswith("| 0.9 | 10 |")
