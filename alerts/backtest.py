"""Backtest: replay scored events through the rules and the detector on a simulated clock.

Deterministic and server-free: the same events and rules always give the same alert events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from alerts.detector import Detector
from alerts.model import AlertEvent
from alerts.rules import Rules
from alerts.sources import MemorySource, NewsEvent, observe

SENTIMENTS = frozenset({"negative", "neutral", "positive"})


class EventError(ValueError):
    """A line of the events file is not a scored event; the message names the line and the field."""


def parse_event(line: str, number: int) -> NewsEvent:
    """One JSONL line: `ts` (ISO-8601), `topic`, `sentiment` (negative|neutral|positive), optional `tickers`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventError(f"line {number}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise EventError(f"line {number}: expected an object")
    try:
        ts = datetime.fromisoformat(str(data["ts"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise EventError(f"line {number}: ts: missing or not ISO-8601") from None
    if ts.tzinfo is None:
        raise EventError(f"line {number}: ts: needs a time zone (e.g. Z)")
    if not isinstance(data.get("topic"), str) or not data["topic"]:
        raise EventError(f"line {number}: topic: missing or not a string")
    if data.get("sentiment") not in SENTIMENTS:
        raise EventError(f"line {number}: sentiment: must be one of {sorted(SENTIMENTS)}")
    tickers = data.get("tickers") or []
    if not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers):
        raise EventError(f"line {number}: tickers: must be a list of strings")
    return NewsEvent(ts, data["topic"], data["sentiment"], tuple(sorted({t.upper() for t in tickers})))


def read_events(lines: Iterable[str]) -> Iterator[NewsEvent]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield parse_event(line, number)


class ManualClock:
    """A clock that only moves when told to (backtests and tests advance it instead of sleeping)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def evaluation_times(source: MemorySource, rules: Rules) -> Iterator[datetime]:
    """Every step from the first event until every alert could have resolved after the last one."""
    tail = max(r.window + rules.step * (r.resolve.clear_windows + r.fire.m) for r in rules.rules)
    moment, stop = source.start + rules.step, source.end + tail
    while moment <= stop:
        yield moment
        moment += rules.step


def run_backtest(events: Iterable[NewsEvent], rules: Rules) -> list[AlertEvent]:
    """All alert events (firing, repeats, resolved) the rules produce over the events, in time order."""
    return replay(MemorySource(events, rules.step), rules)


def replay(source: MemorySource, rules: Rules) -> list[AlertEvent]:
    """`run_backtest` over counts already loaded (the simulation reuses them to measure its spikes)."""
    clock = ManualClock(source.start)
    detector = Detector(rules, clock)
    out: list[AlertEvent] = []
    for moment in evaluation_times(source, rules):
        clock.now = moment
        out += detector.step(observe(rules, source, moment))
    return out


def backtest_line(event: AlertEvent) -> str:
    """The JSONL line `finmon alerts backtest` prints for one alert state change."""
    data = event.to_json()
    return json.dumps(
        {k: data[k] for k in ("status", "labels", "startsAt", "endsAt", "annotations", "fingerprint")}, sort_keys=False
    )
