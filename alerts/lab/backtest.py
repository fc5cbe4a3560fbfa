"""Backtest: replay scored events through the rules and the detector on a simulated clock.

Deterministic and server-free: the same events and rules always give the same alert events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import numpy as np

from alerts.alert import AlertEvent
from alerts.counts import Observation
from alerts.detector import Detector
from alerts.evidence import enrich
from alerts.lab.memory_source import MemorySource, NewsEvent
from alerts.rules import Rules
from alerts.scopes import ScopeKey

SENTIMENTS = frozenset({"negative", "neutral", "positive"})
HEADLINE_FIELDS = ("title", "source", "url", "score")


class EventError(ValueError):
    """A line of the events file is not a scored event; the message names the line and the field."""


def parse_event(line: str, number: int) -> NewsEvent:
    """One JSONL line: `ts` (ISO-8601 event time), `topic`, `sentiment` (negative|neutral|positive), optional
    `tickers`, `story_id`, and `title`, `source`, `url`, `score` (shown as evidence in alerts)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventError(f"line {number}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise EventError(f"line {number}: expected an object")
    try:
        ts = datetime.fromisoformat(str(data["ts"]))
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
    story = data.get("story_id")
    headline = tuple((k, data[k]) for k in HEADLINE_FIELDS if data.get(k) is not None) if "title" in data else ()
    return NewsEvent(
        ts,
        data["topic"],
        data["sentiment"],
        tuple(sorted({t.upper() for t in tickers})),
        str(story) if story else None,
        headline,
    )


def read_events(lines: Iterable[str]) -> Iterator[NewsEvent]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield parse_event(line, number)


def run_backtest(events: Iterable[NewsEvent], rules: Rules) -> list[AlertEvent]:
    """All alert events (firing, repeats, resolved) the rules produce over the events, in time order."""
    stories = any(rule.count == "stories" for rule in rules.rules)
    return replay(MemorySource(events, rules.step, stories=stories), rules)


Cell = tuple[str, ScopeKey, int, int, int, int]  # rule, scope, negatives, news, negative stories, stories


def _cells(source: MemorySource, rules: Rules) -> dict[int, list[Cell]]:
    """Per step index: (rule, scope, negatives, news, negative stories, stories) of every watched scope with news
    in that step."""
    per_step: dict[int, list[Cell]] = {}
    for rule in rules.rules:
        kind = rule.scope.kind
        if kind not in source.tot:
            continue
        tot, neg = source.tot[kind], source.neg[kind]
        story_neg, story_tot = source.story_neg[kind], source.story_tot[kind]
        rows, steps = np.nonzero(source.watched(kind, rule.scope.limit) & (tot > 0))
        for row, i in zip(rows.tolist(), steps.tolist(), strict=True):
            per_step.setdefault(i, []).append(
                (
                    rule.name,
                    source.keys[kind][row],
                    int(neg[row, i]),
                    int(tot[row, i]),
                    int(story_neg[row, i]),
                    int(story_tot[row, i]),
                )
            )
    return per_step


def replay(source: MemorySource, rules: Rules) -> list[AlertEvent]:
    """`run_backtest` over counts already loaded: every step from the first news to the last, judged once."""
    detector = Detector(rules)
    per_step = _cells(source, rules)
    parent_neg, parent_tot = source.neg.get("all"), source.tot.get("all")
    out: list[AlertEvent] = []
    for i in range(source.last - source.first + 1):
        end = datetime.fromtimestamp((source.first + i + 1) * source.step_s, UTC)
        start = end - rules.step
        observations = [Observation(rule, scope, start, end, *counts) for rule, scope, *counts in per_step.get(i, [])]
        parent = (
            (int(parent_neg[0, i]), int(parent_tot[0, i]))
            if parent_neg is not None and parent_tot is not None
            else (0, 0)
        )
        produced = detector.step(observations, parent, at=end)
        out += enrich(produced, detector, rules, source) if produced else []
    return out


def backtest_line(event: AlertEvent) -> str:
    """The JSONL line `finmon alerts backtest` prints for one alert state change."""
    data = event.to_json()
    return json.dumps(
        {k: data[k] for k in ("status", "labels", "startsAt", "endsAt", "annotations", "fingerprint")}, sort_keys=False
    )
