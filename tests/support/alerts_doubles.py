"""In-memory stand-ins for what the alert evaluator and notifier persist, and a clock tests move by hand."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alerts.alert import AlertEvent
from alerts.counts import CountSource, Observation, Series
from alerts.outbox import KINDS, Delivery, Kind
from alerts.rules import Rule, Rules
from alerts.scopes import ScopeKey


class ManualClock:
    """A clock that only moves when told to (backtests and tests advance it instead of sleeping)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class MemoryOutbox:
    """An outbox in a dict: for backtests, tests and runs without Elasticsearch."""

    def __init__(self) -> None:
        self.items: dict[str, Delivery] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            for delivery in deliveries:
                if delivery.id not in self.items:
                    self._store(delivery)

    def put(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            for delivery in deliveries:
                self._store(delivery)

    def claim(
        self,
        now: datetime,
        until: datetime,
        target: str | None = None,
        limit: int = 100,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        with self._lock:
            ready = [
                d
                for d in self.items.values()
                if d.state == "pending"
                and d.next_attempt_at <= now
                and target in (None, d.target)
                and d.target not in exclude
            ]
            ready = sorted(ready, key=lambda d: (d.next_attempt_at, d.id))[:limit]
            claimed = [self._store(replace(d, next_attempt_at=until)) for d in ready]
            return [replace(d, version=(self._versions[d.id], 1)) for d in claimed]

    def update(self, delivery: Delivery) -> bool:
        with self._lock:
            if delivery.version is not None and delivery.version[0] != self._versions.get(delivery.id):
                return False
            self._store(delivery)
            return True

    def backlog(self) -> dict[Kind, int]:
        with self._lock:
            counts = Counter(d.kind for d in self.items.values() if d.state == "pending")
        return {kind: counts.get(kind, 0) for kind in KINDS}

    def _store(self, delivery: Delivery) -> Delivery:
        stored = replace(delivery, version=None)
        self.items[delivery.id] = stored
        self._versions[delivery.id] = self._versions.get(delivery.id, 0) + 1
        return stored


class MemoryStateStore:
    def __init__(self) -> None:
        self.states: dict[str, Any] = {}
        self.last_end: datetime | None = None

    def load(self) -> tuple[dict[str, Any], datetime | None]:
        return dict(self.states), self.last_end

    def save(self, states: dict[str, Any], last_end: datetime) -> None:
        self.states, self.last_end = dict(states), last_end


class AlwaysLease:
    """The lease of a lone evaluator."""

    def acquire(self, now: datetime) -> bool:
        return True

    def release(self) -> None:
        return None


class MemoryHistory:
    def __init__(self) -> None:
        self.events: dict[str, AlertEvent] = {}

    def record(self, events: list[AlertEvent]) -> None:
        for event in events:
            self.events[event.key] = event


class CountingSource:
    """A count source that records the queries it passes on to the real one (`calls`, in order): what an
    evaluation asks Elasticsearch, on any source."""

    def __init__(self, source: CountSource) -> None:
        self.source = source
        self.calls: list[tuple[str, str | bool]] = []

    def counts(self, rule: Rule, start: datetime, end: datetime, step: timedelta) -> dict[ScopeKey, Series]:
        self.calls.append(("counts", rule.name))
        return self.source.counts(rule, start, end, step)

    def parent(self, start: datetime, end: datetime, step: timedelta, stories: bool = False) -> Series:
        self.calls.append(("parent", stories))
        return self.source.parent(start, end, step, stories)

    def headlines(self, scope: ScopeKey, start: datetime, end: datetime, size: int) -> list[dict[str, Any]]:
        return self.source.headlines(scope, start, end, size)


def observations_by_counts(
    source: CountSource, rules: Rules, start: datetime, end: datetime, step: timedelta
) -> list[list[Observation]]:
    """Per step in [start, end), every rule's observations as `source.counts` gives them, all news included:
    what the evaluator judges when it asks each rule's counts apart."""
    count = int((end - start) / step)
    per_step: list[list[Observation]] = [[] for _ in range(count)]
    for rule in rules.rules:
        for scope, s in sorted(source.counts(rule, start, end, step).items()):
            for i, (neg, tot) in enumerate(zip(s.negatives[:count], s.totals[:count], strict=False)):
                if tot:
                    lo = start + step * i
                    stories = (s.story_negatives[i], s.story_totals[i]) if s.story_negatives and s.story_totals else ()
                    per_step[i].append(Observation(rule.name, scope, lo, lo + step, neg, tot, *stories))
    return per_step
