"""Per-step counts of news and negatives, and where they come from: the source interface.

A source answers, for one scope kind and a span of steps, the negative/total counts per step of each of the
`limit` scopes with the most news over the trailing day. Elasticsearch answers it with aggregations
(alerts/es_source.py); the lab's backtests count events in memory (alerts/lab/memory_source.py). News are
placed by event time: published_at, else fetched_at, else scored_at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from alerts.rules import Rule
from alerts.scopes import ScopeKey

RANKING = timedelta(days=1)  # topics and tickers are ranked by their news over this trailing span


class CountSource(Protocol):
    def counts(self, rule: Rule, start: datetime, end: datetime, step: timedelta) -> dict[ScopeKey, Series]:
        """Counts per step in [start, end) of each scope the rule watches (aligned to the step)."""
        ...

    def parent(self, start: datetime, end: datetime, step: timedelta, stories: bool = False) -> Series:
        """All news' counts per step in [start, end): the share sparse scopes are shrunk towards. The same
        counts as `counts` gives an all-news rule counting stories (`stories`) or items, so the evaluator asks once.
        """
        ...

    def headlines(self, scope: ScopeKey, start: datetime, end: datetime, size: int) -> list[dict[str, Any]]:
        """The `size` most negative news of a scope in [start, end): title, source, url, published_at, score."""
        ...


@dataclass(frozen=True)
class Series:
    """Negative and total counts per step bucket, oldest first."""

    negatives: list[int]
    totals: list[int]
    # distinct stories (plus news without a story id) per bucket where the source knows them, whatever the rule
    # counts: the burst tests judge stories (a syndicated story's copies are not a burst)
    story_negatives: list[int] | None = None
    story_totals: list[int] | None = None


@dataclass(frozen=True)
class Observation:
    """One scope's counts in one step [start, end), for one rule: what the detector judges."""

    rule: str
    scope: ScopeKey
    start: datetime
    end: datetime
    negatives: int
    volume: int
    story_negatives: int | None = None  # the same step's distinct stories, where the source knows them
    story_volume: int | None = None

    def stories(self) -> tuple[int, int] | None:
        """(negative stories, stories) in the step, or None where the source counts items only."""
        if self.story_negatives is None or self.story_volume is None:
            return None
        return self.story_negatives, self.story_volume
