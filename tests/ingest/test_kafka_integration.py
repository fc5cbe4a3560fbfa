"""The scraper producing to the real broker: keyed by id, every item once, readable as NewsItems."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer

from monitor.ingest.feeds import FeedConfig
from monitor.ingest.service import MEMORY, build_scraper
from monitor.kafka import client_options, ensure_topics
from monitor.schemas import NewsItem
from monitor.settings import KafkaSettings, Settings

from .feedserver import FeedServer, Route

pytestmark = pytest.mark.integration


def _consume(kafka: KafkaSettings, expected: int, timeout: float = 20.0) -> list[tuple[bytes, bytes]]:
    consumer = KafkaConsumer(
        kafka.raw_topic, auto_offset_reset="earliest", consumer_timeout_ms=1000, **client_options(kafka)
    )
    records: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records.extend((r.key, r.value) for r in consumer)
    finally:
        consumer.close()
    return records


def test_scraped_items_are_produced_once_keyed_by_id(
    kafka_bootstrap: str, unique: str, feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    kafka = KafkaSettings(bootstrap_servers=[kafka_bootstrap], raw_topic=f"raw-{unique}", partitions=1)
    settings = settings_for_scrape.model_copy(update={"kafka": kafka})
    ensure_topics(kafka)
    feed_server.routes.update(
        {
            "/markets.rss": Route.fixture("markets.rss.xml"),
            "/wire.atom": Route.fixture("wire.atom.xml", content_type="application/atom+xml"),
            "/down": Route(status=500, content_type="text/plain"),
        }
    )
    feeds = [FeedConfig(name=p, url=feed_server.url(p)) for p in ("/markets.rss", "/wire.atom", "/down")]
    with build_scraper(settings, feeds=feeds, state_path=MEMORY) as scraper:
        scraper.run_once()
        scraper.run_once()  # the second pass finds only known ids
        emitted = scraper.stats.snapshot()["counts"]["emitted"]
    records = _consume(kafka, emitted)
    assert emitted == 7 and len(records) == 7
    items = [NewsItem.model_validate_json(value) for _, value in records]
    assert [key.decode() for key, _ in records] == [item.id for item in items]
    assert len({item.id for item in items}) == 7
    assert sum(1 for item in items if item.is_first is False) == 1
