"""The in-memory count source of the lab's backtests and simulations: scored news events held in memory,
counted per scope and step as Elasticsearch counts them (alerts/es_source.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from alerts.counts import RANKING, Series
from alerts.rules import Rule
from alerts.scopes import ALL, ScopeKey


@dataclass(frozen=True)
class NewsEvent:
    """A scored news item reduced to what alerting needs (`ts` is its event time)."""

    ts: datetime
    topic: str
    sentiment: str
    tickers: tuple[str, ...] = ()
    story_id: str | None = None
    headline: tuple[tuple[str, Any], ...] = ()  # title, source, url, score where the event has them

    def scopes(self) -> list[ScopeKey]:
        """Every scope whose counts this news item adds to: all news, its topic, each of its tickers."""
        return [ALL, ScopeKey("topic", self.topic), *(ScopeKey("ticker", ticker) for ticker in self.tickers)]


class MemorySource:
    """Counts from events held in memory: per scope kind a (scopes × steps) array of negatives and news (items,
    or distinct stories when `stories`), and of distinct stories always (what the burst tests judge)."""

    def __init__(self, events: Iterable[NewsEvent], step: timedelta, stories: bool = False) -> None:
        self.step_s = int(step.total_seconds())
        cells: dict[tuple[ScopeKey, int], list[Any]] = {}
        self._negative: dict[ScopeKey, list[tuple[int, NewsEvent]]] = {}
        for event in events:
            self._add(cells, event)
        self._freeze(cells, stories)

    def _add(self, cells: dict[tuple[ScopeKey, int], list[Any]], event: NewsEvent) -> None:
        """A cell per (scope, step): [negatives, news, negatives without a story id, news without one,
        negative story ids, story ids]."""
        bucket = int(event.ts.timestamp()) // self.step_s
        negative = event.sentiment == "negative"
        for scope in event.scopes():
            cell = cells.setdefault((scope, bucket), [0, 0, 0, 0, set(), set()])
            cell[0] += negative
            cell[1] += 1
            if event.story_id is None:
                cell[2] += negative
                cell[3] += 1
            else:
                cell[5].add(event.story_id)
                if negative:
                    cell[4].add(event.story_id)
            if negative and event.headline:
                self._negative.setdefault(scope, []).append((bucket, event))

    def _freeze(self, cells: dict[tuple[ScopeKey, int], list[Any]], stories: bool) -> None:
        buckets = [b for _, b in cells]
        self.first = min(buckets, default=0)
        self.last = max(buckets, default=-1)
        size = self.last - self.first + 1
        self.keys: dict[str, list[ScopeKey]] = {}
        for scope, _ in cells:
            self.keys.setdefault(scope[0], [])
        for kind in self.keys:
            self.keys[kind] = sorted({s for s, _ in cells if s[0] == kind})
        index = {scope: i for keys in self.keys.values() for i, scope in enumerate(keys)}
        arrays = [
            {kind: np.zeros((len(keys), size), dtype=np.int64) for kind, keys in self.keys.items()} for _ in "1234"
        ]
        item_neg, item_tot, self.story_neg, self.story_tot = arrays
        for (scope, bucket), (neg, tot, loose_neg, loose, neg_stories, all_stories) in cells.items():
            at = (index[scope], bucket - self.first)
            item_neg[scope[0]][at], item_tot[scope[0]][at] = neg, tot
            self.story_neg[scope[0]][at] = loose_neg + len(neg_stories)
            self.story_tot[scope[0]][at] = loose + len(all_stories)
        self.neg, self.tot = (self.story_neg, self.story_tot) if stories else (item_neg, item_tot)

    @classmethod
    def from_counts(
        cls,
        start: datetime,
        step_s: int,
        keys: dict[str, list[ScopeKey]],
        neg: dict[str, np.ndarray],
        tot: dict[str, np.ndarray],
        story_counts: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
    ) -> MemorySource:
        """A source over counts already bucketed (scopes × steps from `start`), e.g. by the simulation;
        `story_counts` (negative stories, stories) where the stories are known."""
        source = cls([], timedelta(seconds=step_s))
        size = next(iter(tot.values())).shape[1]
        first = int(start.timestamp()) // step_s
        source.first, source.last = first, first + size - 1
        source.keys, source.neg, source.tot = keys, neg, tot
        source.story_neg, source.story_tot = story_counts or (neg, tot)
        return source

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.first * self.step_s, UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp((self.last + 1) * self.step_s, UTC)

    def watched(self, kind: str, limit: int) -> np.ndarray:
        """(scopes × steps) mask: the scope is among the `limit` with most news over the trailing day."""
        tot = self.tot.get(kind)
        if tot is None:
            return np.zeros((0, 0), dtype=bool)
        if kind == "all" or limit >= tot.shape[0]:
            return np.ones(tot.shape, dtype=bool)
        span = int(RANKING.total_seconds()) // self.step_s
        csum = np.concatenate([np.zeros((tot.shape[0], 1), dtype=np.int64), np.cumsum(tot, axis=1)], axis=1)
        trailing = csum[:, 1:] - csum[:, np.maximum(np.arange(1, tot.shape[1] + 1) - span, 0)]
        order = np.lexsort((np.arange(tot.shape[0])[:, None].repeat(tot.shape[1], 1), -trailing), axis=0)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(tot.shape[0])[:, None], axis=0)
        return (ranks < limit) & (trailing > 0)

    def counts(self, rule: Rule, start: datetime, end: datetime, step: timedelta) -> dict[ScopeKey, Series]:
        lo, hi = self._span(start, end)
        kind = rule.scope.kind
        if kind not in self.tot:
            return {}
        mask = self.watched(kind, rule.scope.limit)
        out: dict[ScopeKey, Series] = {}
        for i, scope in enumerate(self.keys[kind]):
            if hi > lo and mask[i, min(max(hi - 1, 0), mask.shape[1] - 1)]:
                out[scope] = Series(
                    self._slice(self.neg[kind][i], lo, hi),
                    self._slice(self.tot[kind][i], lo, hi),
                    self._slice(self.story_neg[kind][i], lo, hi),
                    self._slice(self.story_tot[kind][i], lo, hi),
                )
        return out

    def parent(self, start: datetime, end: datetime, step: timedelta, stories: bool = False) -> Series:
        """All news as the source was built to count them (items or stories), whatever `stories` asks: as its
        `counts` answer every rule."""
        lo, hi = self._span(start, end)
        if "all" not in self.tot:
            return Series(*([0] * (hi - lo) for _ in range(4)))
        return Series(
            self._slice(self.neg["all"][0], lo, hi),
            self._slice(self.tot["all"][0], lo, hi),
            self._slice(self.story_neg["all"][0], lo, hi),
            self._slice(self.story_tot["all"][0], lo, hi),
        )

    def headlines(self, scope: ScopeKey, start: datetime, end: datetime, size: int) -> list[dict[str, Any]]:
        lo, hi = self._span(start, end)
        found = [e for b, e in self._negative.get(scope, []) if lo <= b - self.first < hi]
        found.sort(key=lambda e: (dict(e.headline).get("score", 0.0), e.ts))
        return [{**dict(e.headline), "published_at": e.ts.isoformat().replace("+00:00", "Z")} for e in found[:size]]

    def _span(self, start: datetime, end: datetime) -> tuple[int, int]:
        return int(start.timestamp()) // self.step_s - self.first, int(end.timestamp()) // self.step_s - self.first

    def _slice(self, values: np.ndarray, lo: int, hi: int) -> list[int]:
        out = [0] * (hi - lo)
        a, b = max(lo, 0), min(hi, len(values))
        if a < b:
            out[a - lo : b - lo] = values[a:b].tolist()
        return out
