"""Windowed counts from Elasticsearch: one search per rule with a date_histogram per scope (UTC, fixed
interval = the rules' step) and a `negative` filter inside; simple aggregations every ES-API server answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from alerts.model import ScopeKey, Series
from alerts.model import iso as _iso
from alerts.rules import Rule, Rules
from alerts.sources import span_buckets

SCOPE_FIELDS = {"topic": "topic", "ticker": "tickers"}


def interval(seconds: int) -> str:
    """A fixed_interval string for a step (`5m`, `1h`, `90s`)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class EsCountSource:
    """Reads negative/total counts per step bucket and scope from the scored-news index."""

    def __init__(self, client: Elasticsearch, index: str, time_field: str = "scored_at") -> None:
        self.client = client
        self.index = index
        self.time_field = time_field

    def series(self, rule: Rule, rules: Rules, end: datetime) -> dict[ScopeKey, Series]:
        step_s = int(rules.step.total_seconds())
        span = span_buckets(rule, rules)
        start = end - rules.step * span
        response = self.client.search(
            index=self.index,
            size=0,
            query=self._range(start, end),
            aggs=self._aggs(rule, step_s),
            ignore_unavailable=True,
        )
        aggs: dict[str, Any] = response.get("aggregations") or {}
        lo_ms, step_ms = int(start.timestamp()) * 1000, step_s * 1000
        if rule.scope.kind == "all":
            return {("all", ""): _series(aggs.get("h", {}).get("buckets", []), lo_ms, step_ms, span)} if aggs else {}
        return {
            (rule.scope.kind, str(scope["key"])): _series(scope["h"]["buckets"], lo_ms, step_ms, span)
            for scope in aggs.get("scopes", {}).get("buckets", [])
        }

    def _range(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {"range": {self.time_field: {"gte": _iso(start), "lt": _iso(end)}}}

    def _aggs(self, rule: Rule, step_s: int) -> dict[str, Any]:
        hist = {
            "date_histogram": {"field": self.time_field, "fixed_interval": interval(step_s), "min_doc_count": 1},
            "aggs": {"neg": {"filter": {"term": {"sentiment": "negative"}}}},
        }
        if rule.scope.kind == "all":
            return {"h": hist}
        terms = {"field": SCOPE_FIELDS[rule.scope.kind], "size": rule.scope.limit}
        return {"scopes": {"terms": terms, "aggs": {"h": hist}}}


def _series(buckets: list[dict[str, Any]], lo_ms: int, step_ms: int, span: int) -> Series:
    """Dense per-step arrays from histogram buckets (placed by key, so missing buckets are zeros)."""
    negatives, totals = [0] * span, [0] * span
    for bucket in buckets:
        i = (int(bucket["key"]) - lo_ms) // step_ms
        if 0 <= i < span:
            totals[i] = int(bucket["doc_count"])
            negatives[i] = int(bucket["neg"]["doc_count"])
    return Series(negatives, totals)
