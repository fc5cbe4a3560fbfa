"""What the live view reads from the running parts: the news index (counts, topics, tickers, latest
headlines), the dead-letter count, the firing alerts and the scraper's counters."""

from __future__ import annotations

import time
from typing import Any

from elasticsearch import Elasticsearch

from alerts.alert_service import AlertService
from monitor.app.live_stats import Headline, RateMeter, Snapshot, TopicRow
from monitor.app.settings import Settings
from monitor.app.supervise import DeadLetterCounter
from monitor.ingest.scraper import Scraper


class Sampler:
    """Reads the news index and the DLQ count into a Snapshot."""

    def __init__(self, settings: Settings, client: Elasticsearch, dead_letters: DeadLetterCounter) -> None:
        self.index = settings.es.news_index
        self.client = client
        self.dead_letters = dead_letters
        self.rates = RateMeter()

    def snapshot(self) -> Snapshot:
        self.client.indices.refresh(index=self.index)
        response = self.client.search(
            index=self.index,
            size=8,
            sort=[{"scored_at": "desc"}],
            aggs=_aggregations(),
            source_includes=["published_at", "sentiment", "topic", "title", "tickers"],
        )
        total = int(response["hits"]["total"]["value"])
        aggs = response["aggregations"]
        return Snapshot(
            indexed=total,
            rate=self.rates.push(time.monotonic(), total),
            dead_letters=self.dead_letters.count,
            topics=_rows(aggs["topics"]),
            tickers=_rows(aggs["tickers"]),
            latest=[_headline(hit["_source"]) for hit in response["hits"]["hits"]],
        )


def _aggregations() -> dict[str, Any]:
    negative = {"negative": {"filter": {"term": {"sentiment": "negative"}}}}
    return {
        "topics": {"terms": {"field": "topic", "size": 20}, "aggs": negative},
        "tickers": {"terms": {"field": "tickers", "size": 8}, "aggs": negative},
    }


def _rows(agg: dict[str, Any]) -> list[TopicRow]:
    return [TopicRow(b["key"], int(b["doc_count"]), int(b["negative"]["doc_count"])) for b in agg["buckets"]]


def _headline(source: dict[str, Any]) -> Headline:
    return Headline(
        str(source.get("published_at", ""))[11:16],
        source.get("sentiment", ""),
        source.get("topic", ""),
        source.get("title", ""),
        tuple(source.get("tickers", [])),
    )


def alert_summaries(service: AlertService | None) -> list[str]:
    """One line per firing alert: its summary, or its labels where it has none."""
    if service is None:
        return []
    return [
        alert.summary or ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())) for alert in service.firing()
    ]


def scrape_note(running: Scraper | None) -> list[str]:
    if running is None:
        return []
    counts = running.stats.snapshot()["counts"]
    return [
        "feeds: {polls} polls, {emitted} new, {duplicates} duplicates, {linked} linked, {failures} failures".format(
            **{key: counts.get(key, 0) for key in ("polls", "emitted", "duplicates", "linked", "failures")}
        )
    ]
