"""Per-step counts from Elasticsearch: one search per rule with a date_histogram per scope (UTC, fixed
interval = the step) and a `negative` filter inside; simple aggregations every ES-API server answers.

Topics and tickers are ranked by their news over the trailing day (terms, size = the rule's limit). News are
placed by `time_field`: `event_at` (published_at, else fetched_at, else scored_at; set by the worker).
With `count: stories` a step counts distinct `story_id`s (cardinality) plus the news that have none; the
stories are counted apart whatever the rule counts, for the burst tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from alerts.counts import RANKING, Series
from alerts.rules import Rule
from alerts.scopes import ALL, FIELDS, ScopeKey
from monitor.times import iso as _iso

HEADLINE_FIELDS = ["title", "source", "url", "published_at", "sentiment_score", "story_id"]


def interval(seconds: int) -> str:
    """A fixed_interval string for a step (`5m`, `1h`, `90s`)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class EsCountSource:
    """Reads negative/total counts per step and scope, and the most negative headlines, from the news index."""

    def __init__(self, client: Elasticsearch, index: str, time_field: str = "event_at") -> None:
        self.client = client
        self.index = index
        self.time_field = time_field

    def counts(self, rule: Rule, start: datetime, end: datetime, step: timedelta) -> dict[ScopeKey, Series]:
        stories = rule.count == "stories"
        hist = self._histogram(step)
        if rule.scope.kind == "all":
            return {ALL: self.parent(start, end, step, stories)}
        terms = {"field": FIELDS[rule.scope.kind], "size": rule.scope.limit}
        recent = {"filter": self._range(start, end), "aggs": {"h": hist}}
        aggs = {"scopes": {"terms": terms, "aggs": {"recent": recent}}}
        buckets = self._search(min(start, end - RANKING), end, aggs).get("scopes", {}).get("buckets", [])
        return {
            ScopeKey(rule.scope.kind, str(b["key"])): _series(b["recent"]["h"]["buckets"], start, step, end, stories)
            for b in buckets
        }

    def parent(self, start: datetime, end: datetime, step: timedelta, stories: bool = False) -> Series:
        aggs = self._search(start, end, {"h": self._histogram(step)})
        return _series(aggs.get("h", {}).get("buckets", []), start, step, end, stories)

    def headlines(self, scope: ScopeKey, start: datetime, end: datetime, size: int) -> list[dict[str, Any]]:
        """The most negative news (lowest sentiment_score) of the scope in [start, end)."""
        filters: list[dict[str, Any]] = [self._range(start, end), {"term": {"sentiment": "negative"}}]
        if scope.field:
            filters.append({"term": {scope.field: scope.value}})
        response = self.client.search(
            index=self.index,
            size=size,
            query={"bool": {"filter": filters}},
            sort=[{"sentiment_score": "asc"}],
            source_includes=HEADLINE_FIELDS,
            ignore_unavailable=True,
        )
        return [_headline(hit.get("_source", {})) for hit in response.get("hits", {}).get("hits", [])]

    def _search(self, start: datetime, end: datetime, aggs: dict[str, Any]) -> dict[str, Any]:
        response = self.client.search(
            index=self.index, size=0, query=self._range(start, end), aggs=aggs, ignore_unavailable=True
        )
        return dict(response.get("aggregations") or {})

    def _range(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {"range": {self.time_field: {"gte": _iso(start), "lt": _iso(end)}}}

    def _histogram(self, step: timedelta) -> dict[str, Any]:
        """News and negatives per step, each also as distinct stories plus the news without a story_id (the
        rules' `count` picks one; the burst tests always judge stories)."""
        count: dict[str, Any] = {
            "stories": {"cardinality": {"field": "story_id"}},
            "loose": {"missing": {"field": "story_id"}},
        }
        return {
            "date_histogram": {
                "field": self.time_field,
                "fixed_interval": interval(int(step.total_seconds())),
                "min_doc_count": 1,
            },
            "aggs": {**count, "neg": {"filter": {"term": {"sentiment": "negative"}}, "aggs": count}},
        }


def _stories(bucket: dict[str, Any]) -> int:
    """Distinct stories in a bucket plus the news without a story_id."""
    return int(bucket["stories"]["value"]) + int(bucket["loose"]["doc_count"])


def _series(
    buckets: list[dict[str, Any]], start: datetime, step: timedelta, end: datetime, stories: bool = False
) -> Series:
    """Dense per-step arrays from histogram buckets (placed by key, so missing buckets are zeros): news, or
    stories when `stories`, and the stories apart."""
    span = int((end - start) / step)
    lo_ms, step_ms = int(start.timestamp()) * 1000, int(step.total_seconds()) * 1000
    negatives, totals, story_negatives, story_totals = ([0] * span for _ in range(4))
    for bucket in buckets:
        i = (int(bucket["key"]) - lo_ms) // step_ms
        if 0 <= i < span:
            story_totals[i], story_negatives[i] = _stories(bucket), _stories(bucket["neg"])
            totals[i], negatives[i] = int(bucket["doc_count"]), int(bucket["neg"]["doc_count"])
    if stories:
        return Series(story_negatives, story_totals, story_negatives, story_totals)
    return Series(negatives, totals, story_negatives, story_totals)


def _headline(source: dict[str, Any]) -> dict[str, Any]:
    out = {k: source[k] for k in ("title", "source", "url", "published_at", "story_id") if source.get(k)}
    if isinstance(source.get("sentiment_score"), int | float):
        out["score"] = float(source["sentiment_score"])
    return out
