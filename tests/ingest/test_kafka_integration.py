"""The scraper producing to the real broker: keyed by id, every item once, readable as NewsItems."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app.cli import main
from monitor.app.settings import Settings
from monitor.ingest.feeds import FeedConfig
from monitor.ingest.scraper import MEMORY, build_scraper
from monitor.news.schemas import NewsItem
from monitor.stage_settings import KafkaSettings
from monitor.stream.kafka import ensure_topics
from tests.helpers import read_records

from .feedserver import FeedServer, Route

pytestmark = pytest.mark.integration


def _consume(kafka: KafkaSettings, expected: int, timeout: float = 20.0) -> list[tuple[bytes, bytes]]:
    return [(r.key, r.value) for r in read_records(kafka, kafka.raw_topic, expected, timeout)]


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
    with build_scraper(
        settings.scrape, settings.kafka, data_dir=settings.data_dir, feeds=feeds, state_path=MEMORY
    ) as scraper:
        scraper.run_once()
        scraper.run_once()  # the second pass finds only known ids
        emitted = scraper.stats.snapshot()["counts"]["emitted"]
    records = _consume(kafka, emitted)
    assert emitted == 7 and len(records) == 7
    items = [NewsItem.model_validate_json(value) for _, value in records]
    assert [key.decode() for key, _ in records] == [item.id for item in items]
    assert len({item.id for item in items}) == 7
    assert sum(1 for item in items if item.is_first is False) == 1


def test_finmon_scrape_runs_on_schedule_into_the_broker(
    kafka_bootstrap: str, unique: str, feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.routes["/deals.json"] = Route.fixture("deals.feed.json", etag='"d1"')
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "deals"\nurl = "{feed_server.url("/deals.json")}"\ninterval = 0.2\n')
    env = {
        "FINMON_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "FINMON_KAFKA__RAW_TOPIC": f"raw-{unique}",
        "FINMON_KAFKA__PARTITIONS": "1",
        "FINMON_DATA_DIR": str(tmp_path / "data"),
        "FINMON_SCRAPE__JITTER": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["scrape", "--feeds", str(feeds), "--duration", "1.5"]) == 0
    records = _consume(KafkaSettings(bootstrap_servers=[kafka_bootstrap], raw_topic=f"raw-{unique}"), 3)
    assert len(records) == 3
    polls = feed_server.requests_to("/deals.json")
    assert len(polls) >= 2 and polls[-1].headers.get("if-none-match") == '"d1"'
    assert (tmp_path / "data" / "ingest" / "state.sqlite3").is_file()
