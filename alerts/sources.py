"""Where windowed counts come from: the interface, and the in-memory source used by backtests.

A source answers, for one rule and one window end, the negative/total counts per step bucket of each scope
over the rule's baseline and window. Elasticsearch answers it with aggregations (alerts/es_source.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from alerts.assess import assess
from alerts.model import Observation, ScopeKey, Series
from alerts.rules import Rule, Rules


class CountSource(Protocol):
    def series(self, rule: Rule, rules: Rules, end: datetime) -> dict[ScopeKey, Series]:
        """Counts per scope for the `baseline + window` buckets that end at `end` (aligned to the step)."""
        ...


@dataclass(frozen=True)
class NewsEvent:
    """A scored news item reduced to what alerting needs."""

    ts: datetime
    topic: str
    sentiment: str
    tickers: tuple[str, ...] = ()

    def scopes(self) -> list[ScopeKey]:
        """Every scope whose counts this news item adds to: all news, its topic, each of its tickers."""
        return [("all", ""), ("topic", self.topic), *(("ticker", ticker) for ticker in self.tickers)]


def span_buckets(rule: Rule, rules: Rules) -> int:
    return rules.buckets(rule.baseline.length) + rules.buckets(rule.window)


def observe(rules: Rules, source: CountSource, end: datetime) -> list[Observation]:
    """Assess every scope of every rule for the window ending at `end`, in a stable order."""
    observations: list[Observation] = []
    for rule in rules.rules:
        start = end - rule.window
        for scope, series in sorted(source.series(rule, rules, end).items()):
            observations.append(Observation(rule.name, scope, start, end, assess(rule, rules, series)))
    return observations


def top_keys(volumes: dict[str, int], limit: int) -> list[str]:
    """The `limit` keys with the most volume; ties broken by name so results are deterministic."""
    ranked = sorted((item for item in volumes.items() if item[1] > 0), key=lambda kv: (-kv[1], kv[0]))
    return [key for key, _ in ranked[:limit]]


class MemorySource:
    """Counts from events held in memory, as dense arrays per scope (fast slicing for long backtests)."""

    def __init__(self, events: Iterable[NewsEvent], step: timedelta) -> None:
        self.step_s = int(step.total_seconds())
        self._buckets: dict[ScopeKey, dict[int, list[int]]] = {}
        for event in events:
            self.add(event)
        self._freeze()

    def add(self, event: NewsEvent) -> None:
        bucket = int(event.ts.timestamp()) // self.step_s
        negative = event.sentiment == "negative"
        for scope in event.scopes():
            counts = self._buckets.setdefault(scope, {}).setdefault(bucket, [0, 0])
            counts[0] += negative
            counts[1] += 1

    def _freeze(self) -> None:
        keys = [b for per_scope in self._buckets.values() for b in per_scope]
        self.first = min(keys, default=0)
        self.last = max(keys, default=-1)
        size = self.last - self.first + 1
        self._neg: dict[ScopeKey, list[int]] = {}
        self._tot: dict[ScopeKey, list[int]] = {}
        for scope, per_bucket in self._buckets.items():
            neg, tot = [0] * size, [0] * size
            for bucket, (n, t) in per_bucket.items():
                neg[bucket - self.first], tot[bucket - self.first] = n, t
            self._neg[scope], self._tot[scope] = neg, tot
        del self._buckets

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.first * self.step_s, UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp((self.last + 1) * self.step_s, UTC)

    def series(self, rule: Rule, rules: Rules, end: datetime) -> dict[ScopeKey, Series]:
        hi = int(end.timestamp()) // self.step_s
        lo = hi - span_buckets(rule, rules)
        kind = rule.scope.kind
        scopes = [s for s in self._neg if s[0] == kind]
        if kind != "all":
            volumes = {s[1]: sum(self._window(self._tot[s], lo, hi)) for s in scopes}
            scopes = [(kind, key) for key in top_keys(volumes, rule.scope.limit)]
        return {s: Series(self._window(self._neg[s], lo, hi), self._window(self._tot[s], lo, hi)) for s in scopes}

    def _window(self, values: list[int], lo: int, hi: int) -> list[int]:
        out = [0] * (hi - lo)
        a, b = max(lo, self.first), min(hi, self.last + 1)
        if a < b:
            out[a - lo : b - lo] = values[a - self.first : b - self.first]
        return out
