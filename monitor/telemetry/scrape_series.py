"""The scraper's series, `finmon_scrape_*`, read at scrape time from its thread-safe stats."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class ScrapeCollector(Collector):
    """`finmon_scrape_*` series from the scraper's thread-safe stats."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self.snapshot()
        counts = stats.get("counts", {})
        events = CounterMetricFamily("finmon_scrape_items", "feed entries by what happened to them", labels=["kind"])
        for kind in ("entries", "emitted", "duplicates", "linked", "invalid_entries", "bodies"):
            events.add_metric([kind], float(counts.get(kind, 0)))
        yield events
        polls = CounterMetricFamily("finmon_scrape_polls", "feed polls", labels=["outcome"])
        failures = int(counts.get("failures", 0))
        polls.add_metric(["ok"], float(int(counts.get("polls", 0)) - failures))
        polls.add_metric(["failed"], float(failures))
        yield polls
        documents_out = CounterMetricFamily("finmon_scrape_documents_out", "news items sent to news.raw")
        documents_out.add_metric([], float(counts.get("emitted", 0)))
        yield documents_out
        yield from feed_families(stats.get("feeds", {}))


def feed_families(feeds: dict[str, dict[str, Any]]) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    """Per feed: polls by outcome (a deadline overrun counts as failed) and the time of the last good poll."""
    polls = CounterMetricFamily("finmon_scrape_feed_polls", "polls of each feed by outcome", labels=["feed", "outcome"])
    last_ok = GaugeMetricFamily(
        "finmon_scrape_feed_last_success_timestamp_seconds",
        "wall-clock time of each feed's last successful poll (absent until one succeeds)",
        labels=["feed"],
    )
    for name, status in sorted(feeds.items()):
        failures = int(status.get("failures", 0))
        polls.add_metric([name, "ok"], float(int(status.get("polls", 0)) - failures))
        polls.add_metric([name, "failed"], float(failures))
        if status.get("last_ok"):
            last_ok.add_metric([name], datetime.fromisoformat(status["last_ok"]).timestamp())
    yield polls
    yield last_ok
