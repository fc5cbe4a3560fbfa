"""The quality benchmark on a short synthetic stream: what it generates, how it scores, the figures it prints."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from short_stream import SHORT, stream

from alerts.alert import AlertEvent
from alerts.lab.memory_source import MemorySource
from alerts.lab.simulate import (
    EVENT_MINUTES,
    START,
    TICKERS,
    TOPICS,
    Report,
    SimConfig,
    Stream,
    Surge,
    band,
    band_table,
    event_band,
    event_table,
    generate,
    realised_count_p,
    realised_p,
    score,
    simulate_seeds,
    source_of,
)
from alerts.rules import load_rules
from alerts.scopes import ScopeKey


def test_generator_covers_volume_bands_surge_kinds_and_the_daily_cycle() -> None:
    s = stream()
    assert {x.kind for x in s.surges} >= {"step", "ramp", "bleed", "shift"}
    hours = np.bincount((s.minute % 1440) // 60, minlength=24)
    assert hours[14] > 4 * hours[3]  # busy afternoons, quiet nights
    weekday = np.bincount(s.minute // 1440, minlength=7)
    assert weekday[:5].min() > 2 * weekday[5:].max()  # quiet weekends
    rates = [r for _, r in TOPICS] + [r for _, r in TICKERS]
    assert min(rates) <= 3 and max(rates) >= 1500
    assert len(np.unique(s.story)) < len(s.story)  # syndicated copies share a story


def test_realised_p_is_computed_from_the_generated_news() -> None:
    s = stream()
    surge = next(x for x in s.surges if x.kind == "step")
    p, neg, n = realised_p(s, surge)
    assert 0.0 <= p <= 1.0 and 0 <= neg <= n


def firing(scope: ScopeKey, starts_at: datetime, at: datetime) -> AlertEvent:
    """A firing alert of the scope as the detector would emit it."""
    labels = {"alertname": "NegativeNewsSpike", "rule": scope.kind, "scope": scope.kind, "severity": "warning"}
    return AlertEvent("firing", {**labels, scope.kind: scope.value}, {}, starts_at, None, at, scope=scope)


def test_scoring_counts_detections_delays_and_false_alerts() -> None:
    s = stream()
    surge = Surge(("topic", "macro"), "step", START + timedelta(days=3), 60, 3.0, 250.0)
    s = Stream(s.minute, s.second, s.topic, s.ticker, s.negative, s.story, s.base, [surge])
    hit = firing(ScopeKey("topic", "macro"), surge.start + timedelta(minutes=10), surge.start)
    stray = firing(ScopeKey("topic", "crypto"), START + timedelta(days=5), START)
    report = score(s, [hit, stray], SHORT)
    figures = report.summary()
    pooled = figures["target_by_band"].get("all bands") or figures["weaker_by_band"]["all bands"]
    assert pooled["detected"] == 1 and pooled["delay_min_median"] == 10.0
    assert figures["false_alerts_by_scope"] == {"topic:crypto": 1}
    assert figures["false_alerts_per_scope_week_max"] == 1.0


def test_seeds_pool_and_the_table_has_a_row_per_band() -> None:
    figures = simulate_seeds(SimConfig(weeks=1, scale=0.2), load_rules(), [1, 2])
    assert figures["seeds"] == [1, 2] and figures["weeks"] == 2
    table = band_table(figures)
    assert table.splitlines()[0].startswith("| band") and len(table.splitlines()) == 2 + len(figures["target_by_band"])
    assert figures["false_alerts_per_scope_week_mean"] <= 0.5


def test_reports_add_up() -> None:
    a, b = Report(weeks=1, false_by_scope={"all": 1}), Report(weeks=2, false_by_scope={"all": 2, "topic:x": 1})
    a.target["5-20/h"].add(5.0)
    b.target["5-20/h"].add(None)
    pooled = a.add(b)
    assert pooled.weeks == 3 and pooled.false_by_scope == {"all": 3, "topic:x": 1}
    assert pooled.target["5-20/h"].summary()["recall"] == 0.5


def test_volume_bands() -> None:
    assert [band(r) for r in (2500, 600, 150, 30, 7, 3)] == [
        ">=2000/h",
        "500-2000/h",
        "100-500/h",
        "20-100/h",
        "5-20/h",
        "0-5/h",
    ]


@pytest.mark.parametrize("count", ["stories", "items"])
def test_the_simulation_source_counts_what_events_would(count: str) -> None:
    s = generate(SimConfig(weeks=1, seed=4, scale=0.05))
    shipped = load_rules()
    rules = shipped.model_copy(update={"rules": [r.model_copy(update={"count": count}) for r in shipped.rules]})
    events = list(s.events())
    direct, counted = source_of(s, rules), MemorySource(events, rules.step, stories=count == "stories")
    end = datetime(2024, 1, 3, tzinfo=UTC)
    start = end - timedelta(hours=2)
    assert direct.parent(start, end, rules.step) == counted.parent(start, end, rules.step)
    for rule in rules.rules[1:]:
        assert direct.counts(rule, start, end, rules.step) == counted.counts(rule, start, end, rules.step)


def test_company_events_burst_at_ticker_and_topic_scopes_apart_from_the_older_kinds() -> None:
    s = stream()
    events = [x for x in s.surges if x.kind == "event"]
    assert {e.scope[0] for e in events} == {"ticker", "topic"}
    assert all(3 <= e.volume <= 10 and 2 <= e.size <= 4 and e.minutes in EVENT_MINUTES for e in events)
    assert all(1 <= e.rate <= 250 for e in events)
    without = generate(dataclasses.replace(SHORT, events_per_scope_week=0.0))
    assert [x for x in s.surges if x.kind != "event"] == without.surges  # the older kinds are the same
    assert np.array_equal(s.minute[: len(without.minute)], without.minute)  # and so are their news
    e = max(events, key=lambda x: x.volume * x.size)
    p, neg, expected = realised_count_p(s, e)
    assert neg > 2 * expected and p < 1e-3
    a = int((e.start - START).total_seconds() // 60)
    rows = (s.ticker if e.scope[0] == "ticker" else s.topic) == [
        n for n, _ in (TICKERS if e.scope[0] == "ticker" else TOPICS)
    ].index(e.scope[1])
    news = np.sum(rows & (s.minute >= a) & (s.minute < a + e.minutes))
    assert news > 1.5 * s.expected[e.scope][0, a : a + e.minutes].sum()  # the volume bursts too


def test_events_are_scored_in_their_own_bands_and_floods_count_their_alerts() -> None:
    s = stream()
    event = Surge(("ticker", "AAPL"), "event", START + timedelta(days=3), 60, 3.0, 30.0, volume=6.0)
    flood = Surge(("topic", "crypto"), "flood", START + timedelta(days=5), 60, 0.0, 5.0, volume=3.0)
    s = dataclasses.replace(s, surges=[event], floods=[flood])
    hit = firing(ScopeKey("ticker", "AAPL"), event.start + timedelta(minutes=5), START)
    stray = firing(ScopeKey("topic", "crypto"), flood.start + timedelta(minutes=20), START)
    figures = score(s, [hit, stray], SHORT).summary()
    events = figures["events_by_band"].get("20-60/h") or figures["weaker_events_by_band"]["20-60/h"]
    assert events["detected"] == 1 and events["delay_min_median"] == 5.0
    assert figures["target_by_band"] == {} and figures["false_alerts_in_neutral_floods"] == 1
    assert [event_band(r) for r in (300, 100, 30, 10, 2, 0.5)] == [
        ">=250/h",
        "60-250/h",
        "20-60/h",
        "5-20/h",
        "1-5/h",
        "0-1/h",
    ]
    assert event_table(figures).splitlines()[0].startswith("| event band")


def test_realised_p_holds_ticker_news_in_a_topic_to_their_tickers_share() -> None:
    minutes = 3 * 1440
    flat = {("topic", n): np.full(minutes, 0.1) for n, _ in TOPICS} | {
        ("ticker", n): np.full(minutes, 0.5) for n, _ in TICKERS
    }
    # 40 news in macro during the surge: 20 drawn with ticker AAPL (share 0.5), 20 without (share 0.1)
    minute = np.full(40, 2 * 1440 + 10)
    ticker = np.array([0] * 20 + [-1] * 20)
    negative = np.array([True] * 10 + [False] * 10 + [True] * 2 + [False] * 18)
    topic = np.full(40, [n for n, _ in TOPICS].index("macro"))
    s = Stream(minute, np.zeros(40, dtype=int), topic, ticker, negative, np.arange(40), flat, [])
    surge = Surge(("topic", "macro"), "step", START + timedelta(days=2), 60, 2.0, 250.0)
    p, neg, n = realised_p(s, surge)
    assert (neg, n) == (12, 40)
    assert p > 0.1  # 12 of 40 is what shares 0.5 and 0.1 give (12 expected), not a surge over 0.1
