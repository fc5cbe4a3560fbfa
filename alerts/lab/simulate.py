"""Quality benchmark: synthetic news streams at real volumes with known surges, backtested and scored.

Scopes span 3 to 2,000 news/hour (topics, and tickers mentioned by a share of the news), with a daily cycle
(quiet nights), quiet weekends, per-scope negative shares that differ, drift slowly and swing a little over
the day, syndicated duplicates (one story copied by several outlets within minutes: clumped news), and
bursts of neutral/positive news. Injected: step and ramp surges of the negative share, slow bleeds (extra
negative news on one ticker for hours), persistent shifts (a share doubling for days) and company events (a
volume burst of 3-10x the scope's news with its negative share 2-4x, for 15 minutes to 2 hours, at scopes of
1-250 news/hour). Events are drawn with their own random generator, after the rest: the older kinds' news are
the same with or without them.

Scoring uses the surge's realised evidence: the binomial p-value of the negatives its scope actually got over
the surge's duration against the shares the generator drew those news with. Surges with p < 1e-3 and at least 5
negatives are the target set; recall and delay are reported per volume band (the scope's expected news/hour
at onset), false alerts per scope per week (episodes not explained by a surge in the scope or a related one).
Events are scored apart, on their negatives against the negatives the scope's true rate and share would give
(Poisson p < 1e-3 with at least 5 negatives), in their own bands (1-5, 5-20, 20-60, 60-250 news/hour).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from alerts.alert import AlertEvent
from alerts.lab.backtest import replay
from alerts.lab.memory_source import MemorySource, NewsEvent
from alerts.rules import Rules
from alerts.scopes import ALL, ScopeKey
from alerts.tail_probabilities import binomial_sf, poisson_sf

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
TOPICS = (
    ("markets", 1600.0),
    ("earnings", 600.0),
    ("macro", 250.0),
    ("m-and-a", 110.0),
    ("analyst-ratings", 50.0),
    ("regulation", 25.0),
    ("crypto", 12.0),
    ("shipping", 6.0),
    ("bankruptcy", 3.0),
)
TICKERS = (("AAPL", 250.0), ("TSLA", 140.0), ("NVDA", 80.0), ("MSFT", 45.0), ("AMZN", 25.0),
           ("META", 14.0), ("JPM", 9.0), ("XOM", 6.0), ("PFE", 4.0), ("NWSC", 3.0))  # fmt: skip
TARGET_P = 1e-3
TARGET_NEGATIVES = 5
GRACE = timedelta(minutes=30)  # an episode starting this long after a surge's end still counts for it
SHIFT_GRACE = timedelta(days=1)
BANDS = (2000.0, 500.0, 100.0, 20.0, 5.0, 0.0)
EVENT_BANDS = (250.0, 60.0, 20.0, 5.0, 1.0, 0.0)
EVENT_RATES = (1.0, 250.0)  # events are placed where the scope has this many news/hour at onset
EVENT_MINUTES = (15, 30, 60, 120)
STRONG_P = 1e-7  # events whose negatives are this surprising: the hidden bursts, reported apart too
EVENT_SEED = 21  # events draw from their own generator: np.random.default_rng((seed, EVENT_SEED))


@dataclass(frozen=True)
class SimConfig:
    """What the synthetic stream looks like; `scale` multiplies every scope's volume."""

    weeks: int = 4
    seed: int = 7
    scale: float = 1.0
    surges_per_scope_week: float = 2.0
    shifts: int = 2  # scopes whose share doubles for days
    syndicated: float = 0.05  # share of news copied by other outlets (1-4 copies within minutes)
    volume_bursts_per_scope_week: float = 3.0
    events_per_scope_week: float = 1.0  # company events: volume 3-10x and negative share 2-4x together

    @property
    def minutes(self) -> int:
        return self.weeks * 7 * 1440


@dataclass(frozen=True)
class Surge:
    scope: ScopeKey
    kind: str  # step, ramp, bleed, shift, event (company event), flood (neutral news: not a surge)
    start: datetime
    minutes: int
    size: float  # peak lift (step, ramp, shift, event) or extra negatives per news of the scope's rate (bleed)
    rate: float  # the scope's expected news/hour at onset
    volume: float = 1.0  # the scope's news during the surge, as a multiple of its rate (event, flood)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def volume_factor(minutes: np.ndarray) -> np.ndarray:
    """Daily cycle (0.15x at 02:00-05:00 UTC, 1.7x at 14:00-15:00), weekends at 0.35x; mean ≈ 1 on weekdays."""
    hours = (minutes % 1440) / 60.0
    daily = 0.15 + 1.55 * np.clip(np.sin(np.pi * (hours - 5.0) / 19.0), 0.0, None) ** 1.5
    weekend = ((minutes // 1440) % 7) >= 5
    return daily * np.where(weekend, 0.35, 1.0)


def band(rate: float, edges: tuple[float, ...] = BANDS) -> str:
    """A surge's volume band: the scope's expected news/hour at onset."""
    low = next(edge for edge in edges if rate >= edge)
    return f">={low:g}/h" if low == edges[0] else f"{low:g}-{edges[edges.index(low) - 1]:g}/h"


def event_band(rate: float) -> str:
    return band(rate, EVENT_BANDS)


@dataclass
class Stream:
    """The generated news as arrays (one entry per news item) and the truth behind them."""

    minute: np.ndarray
    second: np.ndarray
    topic: np.ndarray
    ticker: np.ndarray  # -1: no ticker
    negative: np.ndarray
    story: np.ndarray
    base: dict[ScopeKey, np.ndarray]  # per scope and minute: the baseline share the generator used
    surges: list[Surge]
    expected: dict[ScopeKey, np.ndarray] = field(default_factory=dict)  # per scope, minute: (news, negatives)
    floods: list[Surge] = field(default_factory=list)  # the neutral floods (volume, no negatives)

    def events(self) -> Iterator[NewsEvent]:
        order = np.lexsort((self.story, self.second, self.minute))
        for i in order.tolist():
            ts = START + timedelta(seconds=int(self.minute[i]) * 60 + int(self.second[i]))
            t = int(self.ticker[i])
            yield NewsEvent(
                ts,
                TOPICS[int(self.topic[i])][0],
                "negative" if self.negative[i] else ("neutral" if i % 2 else "positive"),
                (TICKERS[t][0],) if t >= 0 else (),
                f"s{int(self.story[i])}",
            )


def _shares(rng: np.random.Generator, minutes: int) -> np.ndarray:
    """A scope's baseline share per minute: its own level, a slow drift (days) and a small daily swing."""
    level = rng.uniform(0.08, 0.35)
    days = minutes // 1440 + 2
    drift = np.cumsum(rng.normal(0.0, 0.06, days))
    logit = np.log(level / (1 - level)) + np.interp(np.arange(minutes) / 1440.0, np.arange(days), drift)
    logit += 0.1 * np.sin(2 * np.pi * (np.arange(minutes) % 1440) / 1440.0 + rng.uniform(0, 2 * np.pi))
    return 1.0 / (1.0 + np.exp(-logit))


def _place(config: SimConfig, rng: np.random.Generator, scope: ScopeKey, rate: float, taken: list[int]) -> list[Surge]:
    """Surges in one scope at random onsets after two days of warm-up, at least 12 h apart."""
    kinds = ("step", "ramp", "bleed") if scope[0] == "ticker" else ("step", "ramp")
    out: list[Surge] = []
    for _ in range(round(config.surges_per_scope_week * config.weeks)):
        onset = int(rng.integers(2 * 1440, config.minutes - 600))
        if any(abs(onset - t) < 720 for t in taken):
            continue
        taken.append(onset)
        kind = str(rng.choice(kinds))
        minutes = int(rng.choice((15, 30, 60, 120, 240) if kind == "step" else (60, 120, 240, 480)))
        size = float(rng.choice((1.5, 2.0, 2.5, 3.0, 4.0) if kind != "bleed" else (0.3, 0.5, 1.0)))
        at_onset = rate * config.scale * float(volume_factor(np.array([onset]))[0])
        out.append(Surge(scope, kind, START + timedelta(minutes=onset), minutes, size, at_onset))
    return out


def _lift(surges: Sequence[Surge], minutes: int) -> np.ndarray:
    out = np.ones(minutes)
    for s in surges:
        if s.kind == "bleed":
            continue
        a = int((s.start - START).total_seconds() // 60)
        b = min(a + s.minutes, minutes)
        shape = np.linspace(1.0, s.size, b - a) if s.kind == "ramp" else np.full(b - a, s.size)
        out[a:b] = np.maximum(out[a:b], shape)
    return out


def _surges(config: SimConfig, rng: np.random.Generator) -> list[Surge]:
    scopes = [(ScopeKey("topic", n), r) for n, r in TOPICS] + [(ScopeKey("ticker", n), r) for n, r in TICKERS]
    surges: list[Surge] = []
    shifted = rng.choice(len(scopes), size=config.shifts, replace=False)
    for i, (scope, rate) in enumerate(scopes):
        taken: list[int] = []
        if i in shifted:
            onset = int(rng.integers(3 * 1440, max(3 * 1440 + 1, config.minutes - 4 * 1440)))
            taken.append(onset)
            minutes = min(int(rng.integers(2, 5)) * 1440, config.minutes - onset)
            rate_at = rate * config.scale * float(volume_factor(np.array([onset]))[0])
            surges.append(Surge(scope, "shift", START + timedelta(minutes=onset), minutes, 2.0, rate_at))
            taken += list(range(onset, onset + minutes, 720))
        surges += _place(config, rng, scope, rate, taken)
    return surges


def _arrivals(rng: np.random.Generator, rate: np.ndarray) -> np.ndarray:
    """Minutes of Poisson arrivals at `rate` news per minute."""
    return np.repeat(np.arange(len(rate)), rng.poisson(rate))


def generate(config: SimConfig) -> Stream:
    """The synthetic stream with its surges and events (see the module docstring)."""
    rng = np.random.default_rng(config.seed)
    n_min = config.minutes
    factor = volume_factor(np.arange(n_min)) * config.scale / 60.0
    base = {ScopeKey("topic", n): _shares(rng, n_min) for n, _ in TOPICS} | {
        ScopeKey("ticker", n): _shares(rng, n_min) for n, _ in TICKERS
    }
    surges = _surges(config, rng)
    expected = _expected(config, base, factor)
    events_rng = np.random.default_rng((config.seed, EVENT_SEED))
    events = _events(config, events_rng, expected, surges)
    lift = {scope: _lift([s for s in surges + events if s.scope == scope], n_min) for scope in base}
    parts: list[tuple[np.ndarray, ...]] = []
    topic_rates = np.array([r for _, r in TOPICS])
    for t, (name, rate) in enumerate(TICKERS):
        minute = _arrivals(rng, rate * factor)
        topics = rng.choice(len(TOPICS), size=len(minute), p=topic_rates / topic_rates.sum())
        p = base[ScopeKey("ticker", name)][minute] * np.maximum(lift[ScopeKey("ticker", name)], 1.0)[minute]
        parts.append((minute, topics, np.full(len(minute), t), rng.random(len(minute)) < np.minimum(p, 0.95)))
    for t, (name, rate) in enumerate(TOPICS):
        minute = _arrivals(rng, _topic_only(rate) * factor)
        p = base[ScopeKey("topic", name)][minute] * lift[ScopeKey("topic", name)][minute]
        parts.append(
            (minute, np.full(len(minute), t), np.full(len(minute), -1), rng.random(len(minute)) < np.minimum(p, 0.95))
        )
    parts += _bleeds(config, rng, surges)
    floods, flood_parts = _volume_bursts(config, rng, factor)
    parts += flood_parts
    minute, topic, ticker, negative = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    story = np.arange(len(minute))
    minute, topic, ticker, negative, story = _syndicate(config, rng, minute, topic, ticker, negative, story)
    second = rng.integers(0, 60, size=len(minute))
    extra = _event_news(config, events_rng, events, base, expected, first_story=len(story))
    if extra is not None:
        minute, topic, ticker, negative, story, second = (
            np.concatenate([a, b]) for a, b in zip((minute, topic, ticker, negative, story, second), extra, strict=True)
        )
    return Stream(minute, second, topic, ticker, negative, story, base, surges + events, expected, floods)


def _topic_only(rate: float) -> float:
    """A topic's news/hour (at scale 1) that carry no ticker: its rate less the ticker news falling in it."""
    ticker_news = sum(r for _, r in TICKERS) * rate / sum(r for _, r in TOPICS)
    return max(rate - ticker_news, rate * 0.3)


def _expected(config: SimConfig, base: dict[ScopeKey, np.ndarray], factor: np.ndarray) -> dict[ScopeKey, np.ndarray]:
    """Per scope and minute: (news, negatives) the generator's true rates and shares give without any surge,
    event or flood, syndicated copies included (what an oracle that knows the rates would expect)."""
    copies = 1.0 + config.syndicated * 2.5  # 1-4 copies of a syndicated story: 2.5 on average
    out: dict[ScopeKey, np.ndarray] = {}
    topic_total = sum(r for _, r in TOPICS)
    for name, rate in TICKERS:
        news = rate * factor * copies
        out[ScopeKey("ticker", name)] = np.stack([news, news * base[ScopeKey("ticker", name)]])
    for name, rate in TOPICS:
        own = _topic_only(rate) * factor * copies
        news, negatives = own.copy(), own * base[ScopeKey("topic", name)]
        for ticker, ticker_rate in TICKERS:
            share = ticker_rate * rate / topic_total * factor * copies
            news += share
            negatives += share * base[ScopeKey("ticker", ticker)]
        out[ScopeKey("topic", name)] = np.stack([news, negatives])
    return out


def _events(
    config: SimConfig, rng: np.random.Generator, expected: dict[ScopeKey, np.ndarray], surges: Sequence[Surge]
) -> list[Surge]:
    """Company events at onsets where the scope has 1-250 news/hour, at least 12 h from its other surges, after
    three days (what a fresh evaluator learns before it judges)."""
    out: list[Surge] = []
    for scope, counts in expected.items():
        taken = [int((s.start - START).total_seconds() // 60) for s in surges if s.scope == scope]
        taken += [m for s in surges if s.scope == scope and s.kind == "shift" for m in range(0, s.minutes, 720)]
        for _ in range(round(config.events_per_scope_week * config.weeks)):
            for _attempt in range(20):
                onset = int(rng.integers(3 * 1440, config.minutes - 600))
                rate = float(counts[0, onset]) * 60.0
                if EVENT_RATES[0] <= rate <= EVENT_RATES[1] and all(abs(onset - t) >= 720 for t in taken):
                    break
            else:
                continue
            taken.append(onset)
            minutes = int(rng.choice(EVENT_MINUTES))
            volume, share = float(rng.uniform(3.0, 10.0)), float(rng.uniform(2.0, 4.0))
            out.append(Surge(scope, "event", START + timedelta(minutes=onset), minutes, share, rate, volume))
    return out


def _event_news(
    config: SimConfig,
    rng: np.random.Generator,
    events: Sequence[Surge],
    base: dict[ScopeKey, np.ndarray],
    expected: dict[ScopeKey, np.ndarray],
    first_story: int,
) -> tuple[np.ndarray, ...] | None:
    """The extra news of each event: (volume - 1) times the scope's news at its lifted share, syndicated like
    the rest (a ticker's in random topics, a topic's without ticker)."""
    parts: list[tuple[np.ndarray, ...]] = []
    topic_rates = np.array([r for _, r in TOPICS])
    for e in events:
        a = int((e.start - START).total_seconds() // 60)
        b = min(a + e.minutes, config.minutes)
        news, negatives = expected[e.scope][:, a:b]
        minute = a + _arrivals(rng, (e.volume - 1.0) * news)
        # at `size` times the scope's share: a topic's own share mixed with its ticker news' shares
        share = (negatives / np.maximum(news, 1e-12))[minute - a]
        negative = rng.random(len(minute)) < np.minimum(share * e.size, 0.95)
        if e.scope[0] == "ticker":
            topic = rng.choice(len(TOPICS), size=len(minute), p=topic_rates / topic_rates.sum())
            ticker = np.full(len(minute), [n for n, _ in TICKERS].index(e.scope[1]))
        else:
            topic = np.full(len(minute), [n for n, _ in TOPICS].index(e.scope[1]))
            ticker = np.full(len(minute), -1)
        parts.append((minute, topic, ticker, negative))
    if not parts:
        return None
    minute, topic, ticker, negative = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    story = first_story + np.arange(len(minute))
    minute, topic, ticker, negative, story = _syndicate(config, rng, minute, topic, ticker, negative, story)
    return minute, topic, ticker, negative, story, rng.integers(0, 60, size=len(minute))


def _bleeds(config: SimConfig, rng: np.random.Generator, surges: Sequence[Surge]) -> list[tuple[np.ndarray, ...]]:
    """Extra negative news on a ticker: `size` times its rate at onset, for the bleed's duration."""
    out: list[tuple[np.ndarray, ...]] = []
    for s in surges:
        if s.kind != "bleed":
            continue
        a = int((s.start - START).total_seconds() // 60)
        minute = a + _arrivals(rng, np.full(s.minutes, s.size * s.rate / 60.0))
        t = [name for name, _ in TICKERS].index(s.scope[1])
        topics = rng.integers(0, len(TOPICS), size=len(minute))
        out.append((minute, topics, np.full(len(minute), t), np.ones(len(minute), dtype=bool)))
    return out


def _volume_bursts(
    config: SimConfig, rng: np.random.Generator, factor: np.ndarray
) -> tuple[list[Surge], list[tuple[np.ndarray, ...]]]:
    """Bursts of neutral/positive news (20-120 min at 2-5x a scope's rate): volume that must not page."""
    floods: list[Surge] = []
    out: list[tuple[np.ndarray, ...]] = []
    for kind, names in (("topic", TOPICS), ("ticker", TICKERS)):
        for i, (name, rate) in enumerate(names):
            for _ in range(rng.poisson(config.volume_bursts_per_scope_week * config.weeks)):
                a, length = int(rng.integers(0, config.minutes - 120)), int(rng.integers(20, 121))
                times = float(rng.uniform(2, 5))
                minute = a + _arrivals(rng, rate * times * factor[a : a + length])
                topic = np.full(len(minute), i) if kind == "topic" else rng.integers(0, len(TOPICS), len(minute))
                ticker = np.full(len(minute), i) if kind == "ticker" else np.full(len(minute), -1)
                out.append((minute, topic, ticker, np.zeros(len(minute), dtype=bool)))
                at = START + timedelta(minutes=a)
                floods.append(
                    Surge(ScopeKey(kind, name), "flood", at, length, 0.0, rate * float(factor[a]) * 60.0, times)
                )
    return floods, out


def _syndicate(config: SimConfig, rng: np.random.Generator, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """Copies of a share of the news (same story, sentiment and scopes) 0-15 minutes later."""
    picked = np.nonzero(rng.random(len(cols[0])) < config.syndicated)[0]
    copies = rng.integers(1, 5, size=len(picked))
    source = np.repeat(picked, copies)
    minute = np.minimum(cols[0][source] + rng.integers(0, 16, size=len(source)), config.minutes - 1)
    return (np.concatenate([cols[0], minute]), *(np.concatenate([c, c[source]]) for c in cols[1:]))


def source_of(stream: Stream, rules: Rules) -> MemorySource:
    """The stream's per-step counts (without building an event per news item): news, or distinct stories per step
    when a rule counts stories, as Elasticsearch's cardinality and MemorySource count them; and the stories always
    (what the burst tests judge)."""
    step_min = int(rules.step.total_seconds()) // 60
    bucket = stream.minute // step_min
    size = int(bucket.max()) + 1 if len(bucket) else 0
    stories = any(rule.count == "stories" for rule in rules.rules)
    keys: dict[str, list[ScopeKey]] = {
        "all": [ALL],
        "topic": [ScopeKey("topic", n) for n, _ in TOPICS],
        "ticker": [ScopeKey("ticker", n) for n, _ in TICKERS],
    }
    neg, tot, story_neg, story_tot = (
        {k: np.zeros((len(v), size), dtype=np.int64) for k, v in keys.items()} for _ in "1234"
    )
    rows = {"all": np.zeros(len(bucket), dtype=np.int64), "topic": stream.topic, "ticker": stream.ticker}
    for kind, row in rows.items():
        ok = np.nonzero(row >= 0)[0]
        first = ok[_first_of_story(row[ok], bucket[ok], stream.story[ok])]
        for counts, negs, at in ((tot, neg, ok), (story_tot, story_neg, first)):
            np.add.at(counts[kind], (row[at], bucket[at]), 1)
            np.add.at(negs[kind], (row[at], bucket[at]), stream.negative[at].astype(np.int64))
    if stories:
        neg, tot = story_neg, story_tot
    return MemorySource.from_counts(
        START, int(rules.step.total_seconds()), keys, neg, tot, story_counts=(story_neg, story_tot)
    )


def _first_of_story(row: np.ndarray, bucket: np.ndarray, story: np.ndarray) -> np.ndarray:
    """Indices of one news item per (scope, step, story): copies of a story in the same step count once."""
    key = (row.astype(np.int64) * (int(bucket.max(initial=0)) + 1) + bucket) * (int(story.max(initial=0)) + 1) + story
    return np.unique(key, return_index=True)[1]


def null_shares(stream: Stream, mask: np.ndarray) -> np.ndarray:
    """Per news item in `mask`: the share the generator drew it with before any lift. News generated with a
    ticker follow the ticker's share, in whichever topic they fall; the others their topic's share."""
    minute, ticker, topic = stream.minute[mask], stream.ticker[mask], stream.topic[mask]
    out = np.empty(len(minute))
    for i, (name, _) in enumerate(TICKERS):
        rows = ticker == i
        out[rows] = stream.base[ScopeKey("ticker", name)][minute[rows]]
    for i, (name, _) in enumerate(TOPICS):
        rows = (ticker < 0) & (topic == i)
        out[rows] = stream.base[ScopeKey("topic", name)][minute[rows]]
    return out


def realised_p(stream: Stream, surge: Surge) -> tuple[float, int, int]:
    """(p-value, negatives, news) of the surge's scope over its duration against the shares the generator
    used for those news (a topic's news include ticker news drawn at their tickers' shares)."""
    a = int((surge.start - START).total_seconds() // 60)
    b = a + surge.minutes
    names = [n for n, _ in (TOPICS if surge.scope[0] == "topic" else TICKERS)]
    col = stream.topic if surge.scope[0] == "topic" else stream.ticker
    inside = (col == names.index(surge.scope[1])) & (stream.minute >= a) & (stream.minute < b)
    n, neg = int(inside.sum()), int(stream.negative[inside].sum())
    expected = float(null_shares(stream, inside).mean()) if n else 0.0
    return (binomial_sf(neg, n, expected) if n else 1.0), neg, n


def realised_count_p(stream: Stream, surge: Surge) -> tuple[float, int, float]:
    """(p-value, negatives, expected negatives) of the surge's scope over its duration: its negatives against
    the Poisson count its true rate and share give (what a burst shows beyond its share)."""
    a = int((surge.start - START).total_seconds() // 60)
    b = a + surge.minutes
    names = [n for n, _ in (TOPICS if surge.scope[0] == "topic" else TICKERS)]
    col = stream.topic if surge.scope[0] == "topic" else stream.ticker
    inside = (col == names.index(surge.scope[1])) & (stream.minute >= a) & (stream.minute < b)
    neg = int(stream.negative[inside].sum())
    expected = float(stream.expected[surge.scope][1, a:b].sum())
    return poisson_sf(neg, expected), neg, expected


@dataclass
class Episode:
    scope: ScopeKey
    starts_at: datetime
    ends_at: datetime | None = None


def episodes(alerts: Sequence[AlertEvent]) -> list[Episode]:
    by_key: dict[tuple[str, datetime], Episode] = {}
    for alert in alerts:
        episode = by_key.setdefault((alert.fingerprint, alert.starts_at), Episode(_scope(alert), alert.starts_at))
        if alert.status == "resolved":
            episode.ends_at = alert.ends_at
    return list(by_key.values())


def _scope(alert: AlertEvent) -> ScopeKey:
    if alert.scope is None:
        raise ValueError(f"alert {alert.fingerprint}: no scope (not from the detector)")
    return alert.scope


def _related(scope: ScopeKey, surge: Surge) -> bool:
    """A surge in another scope whose news also feed this scope (all news; topics ↔ tickers)."""
    return scope != surge.scope and (scope[0] == "all" or scope[0] != surge.scope[0])


@dataclass
class Tally:
    """Detections of one group of surges."""

    surges: int = 0
    detected: int = 0
    delays: list[float] = field(default_factory=list)

    def add(self, delay: float | None) -> None:
        self.surges += 1
        if delay is not None:
            self.detected += 1
            self.delays.append(delay)

    def summary(self) -> dict[str, Any]:
        return {
            "surges": self.surges,
            "detected": self.detected,
            "recall": round(self.detected / self.surges, 4) if self.surges else None,
            "delay_min_median": statistics.median(self.delays) if self.delays else None,
            "delay_min_max": max(self.delays, default=None),
        }


def _firing_at(found: Sequence[Episode], scope: ScopeKey, moment: datetime) -> bool:
    return any(e.scope == scope and e.starts_at < moment and (e.ends_at is None or e.ends_at > moment) for e in found)


@dataclass
class Report:
    """The figures of one or more simulated streams (reports of several seeds add up)."""

    weeks: int = 0
    surges: int = 0
    target: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    weaker: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    masked: int = 0
    false_by_scope: dict[str, int] = field(default_factory=dict)
    shift_episodes: list[int] = field(default_factory=list)
    events: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    strong_events: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    weaker_events: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    masked_events: int = 0
    floods: int = 0
    flood_alerts: int = 0

    def add(self, other: Report) -> Report:
        """Pool another seed's figures into this one (false alerts per scope add up over the weeks)."""
        self.weeks += other.weeks
        self.surges += other.surges
        self.masked += other.masked
        self.masked_events += other.masked_events
        self.floods += other.floods
        self.flood_alerts += other.flood_alerts
        self.shift_episodes += other.shift_episodes
        pairs = ((self.target, other.target), (self.weaker, other.weaker), (self.events, other.events))
        more = ((self.weaker_events, other.weaker_events), (self.strong_events, other.strong_events))
        for mine, theirs in (*pairs, *more):
            for key, tally in theirs.items():
                pooled = mine[key]
                pooled.surges += tally.surges
                pooled.detected += tally.detected
                pooled.delays += tally.delays
        for name, count in other.false_by_scope.items():
            self.false_by_scope[name] = self.false_by_scope.get(name, 0) + count
        return self

    def summary(self) -> dict[str, Any]:
        per_week = [self.false_by_scope.get(name, 0) / self.weeks for name in _scope_names()]
        return {
            "weeks": self.weeks,
            "scopes": len(per_week),
            "surges": self.surges,
            "target_set": f"realised p < {TARGET_P:g} over the surge's duration with >= {TARGET_NEGATIVES} negatives",
            "target_by_band": {k: v.summary() for k, v in sorted(self.target.items(), key=_band_order)},
            "weaker_by_band": {k: v.summary() for k, v in sorted(self.weaker.items(), key=_band_order)},
            "masked_by_an_alert_already_firing": self.masked,
            "event_target_set": (
                f"realised negatives Poisson p < {TARGET_P:g} against the scope's true rate and share, "
                f">= {TARGET_NEGATIVES} negatives"
            ),
            "events_by_band": {k: v.summary() for k, v in sorted(self.events.items(), key=_band_order)},
            "weaker_events_by_band": {k: v.summary() for k, v in sorted(self.weaker_events.items(), key=_band_order)},
            "strong_events_by_band": {k: v.summary() for k, v in sorted(self.strong_events.items(), key=_band_order)},
            "events_masked_by_an_alert_already_firing": self.masked_events,
            "neutral_floods": self.floods,
            "false_alerts_in_neutral_floods": self.flood_alerts,
            "false_alerts_per_scope_week_mean": round(sum(per_week) / len(per_week), 3),
            "false_alerts_per_scope_week_max": round(max(per_week), 3),
            "false_alerts_by_scope": dict(sorted(self.false_by_scope.items())),
            "episodes_per_persistent_shift": self.shift_episodes,
        }


def score(stream: Stream, alerts: Sequence[AlertEvent], config: SimConfig) -> Report:
    """Match episodes to surges: recall and delay per band (target set; events apart), false alerts (and those
    that began in a neutral flood of their scope), episodes per shift."""
    found = episodes(alerts)
    matched: set[int] = set()
    report = Report(weeks=config.weeks, surges=len(stream.surges), floods=len(stream.floods))
    for surge in stream.surges:
        grace = SHIFT_GRACE if surge.kind == "shift" else GRACE
        own = [
            i for i, e in enumerate(found) if e.scope == surge.scope and surge.start <= e.starts_at <= surge.end + grace
        ]
        matched.update(own)
        if surge.kind == "shift":
            report.shift_episodes.append(len(own))
        elif _firing_at(found, surge.scope, surge.start):
            report.masked_events += surge.kind == "event"
            report.masked += surge.kind != "event"
        else:
            delay = min(((found[i].starts_at - surge.start).total_seconds() / 60 for i in own), default=None)
            _tally(report, stream, surge, delay)
    for i, e in enumerate(found):
        if i in matched or any(_related(e.scope, s) and s.start <= e.starts_at <= s.end + GRACE for s in stream.surges):
            continue
        name = ":".join(filter(None, e.scope))
        report.false_by_scope[name] = report.false_by_scope.get(name, 0) + 1
        report.flood_alerts += any(
            f.scope == e.scope and f.start <= e.starts_at <= f.end + GRACE for f in stream.floods
        )
    return report


def _tally(report: Report, stream: Stream, surge: Surge, delay: float | None) -> None:
    """Count a surge in its group: target or weaker, older kinds by BANDS or events by EVENT_BANDS."""
    if surge.kind == "event":
        p, neg, _ = realised_count_p(stream, surge)
        group, key = (report.events if p < TARGET_P and neg >= TARGET_NEGATIVES else report.weaker_events), event_band
        if p < STRONG_P and neg >= TARGET_NEGATIVES:
            report.strong_events[key(surge.rate)].add(delay)
            report.strong_events["all bands"].add(delay)
    else:
        p, neg, _n = realised_p(stream, surge)
        group, key = (report.target if p < TARGET_P and neg >= TARGET_NEGATIVES else report.weaker), band
    group[key(surge.rate)].add(delay)
    group["all bands"].add(delay)


def _scope_names() -> list[str]:
    return ["all"] + [f"topic:{n}" for n, _ in TOPICS] + [f"ticker:{n}" for n, _ in TICKERS]


def _band_order(item: tuple[str, Tally]) -> float:
    key = item[0]
    return 1.0 if key == "all bands" else -float(key.split("/")[0].lstrip(">=").split("-")[0])


def run(config: SimConfig, rules: Rules) -> tuple[Report, int]:
    """Generate, backtest and score one stream: its report and its number of news."""
    stream = generate(config)
    return score(stream, replay(source_of(stream, rules), rules), config), len(stream.minute)


def simulate(config: SimConfig, rules: Rules) -> dict[str, Any]:
    """Generate, backtest and score; returns the figures as a JSON-able mapping."""
    report, events = run(config, rules)
    return {"events": events, **report.summary()}


def simulate_seeds(config: SimConfig, rules: Rules, seeds: Sequence[int]) -> dict[str, Any]:
    """The figures pooled over several seeds (recall, delays and false alerts over all their streams)."""
    pooled, events = Report(), 0
    for seed in seeds:
        report, count = run(dataclasses.replace(config, seed=seed), rules)
        pooled.add(report)
        events += count
    return {"seeds": list(seeds), "events": events, **pooled.summary()}


def band_table(figures: dict[str, Any]) -> str:
    """The per-band figures as a markdown table (docs/alerts.md's)."""
    rows = [
        "| band (news/h at onset) | target surges | recall | median delay (min) | weaker surges caught |",
        "|---|---|---|---|---|",
    ]
    weaker = figures["weaker_by_band"]
    for name, t in figures["target_by_band"].items():
        w = weaker.get(name, {})
        caught = f"{w.get('detected', 0)}/{w.get('surges', 0)}"
        rows.append(f"| {name} | {t['surges']} | {t['recall']} | {t['delay_min_median']} | {caught} |")
    return "\n".join(rows)


def event_table(figures: dict[str, Any]) -> str:
    """The company events' figures per band as a markdown table."""
    rows = [
        "| event band (news/h at onset) | target events | recall | median delay (min) | max delay (min) "
        f"| events with p < {STRONG_P:g} | their recall | their median delay (min) | weaker events caught |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    weaker, strong = figures["weaker_events_by_band"], figures.get("strong_events_by_band", {})
    for name, t in figures["events_by_band"].items():
        w, s = weaker.get(name, {}), strong.get(name, {})
        caught = f"{w.get('detected', 0)}/{w.get('surges', 0)}"
        rows.append(
            f"| {name} | {t['surges']} | {t['recall']} | {t['delay_min_median']} | {t['delay_min_max']} "
            f"| {s.get('surges', 0)} | {s.get('recall')} | {s.get('delay_min_median')} | {caught} |"
        )
    return "\n".join(rows)


__all__ = [
    "Report",
    "SimConfig",
    "Surge",
    "band",
    "band_table",
    "event_band",
    "event_table",
    "generate",
    "score",
    "simulate",
    "simulate_seeds",
]
