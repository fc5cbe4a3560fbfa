"""Optional article-body fetch for title-only feeds: robots.txt is obeyed, trafilatura extracts the text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.app.settings import Settings
from monitor.ingest.body import RobotsCache
from monitor.ingest.feeds import FeedConfig
from monitor.ingest.fetch import Fetcher
from monitor.ingest.scrape_settings import ScrapeSettings
from monitor.ingest.scraper import MEMORY, build_scraper
from tests.support.sinks import MemorySink

from .feedserver import FeedServer, Route

pytest.importorskip("trafilatura", reason="body extraction needs finmon[extract]")


@pytest.fixture
def fetcher(scrape_settings: ScrapeSettings) -> Iterator[Fetcher]:
    fetcher = Fetcher(scrape_settings)
    yield fetcher
    fetcher.close()


def scrape_once(settings: Settings, feed: FeedConfig) -> tuple[MemorySink, int]:
    """One pass over one feed into memory: what was emitted, and how many bodies were fetched."""
    sink = MemorySink()
    scrape = build_scraper(
        settings.scrape, settings.kafka, data_dir=settings.data_dir, sink=sink, feeds=[feed], state_path=MEMORY
    )
    with scrape as scraper:
        scraper.run_once()
        return sink, scraper.stats.snapshot()["counts"].get("bodies", 0)


def test_title_only_entries_get_their_body_where_robots_allow(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    feed_server.routes.update(
        {
            "/titles.rss": Route.fixture("titles.rss.xml"),
            "/robots.txt": Route.fixture("robots.txt"),
            "/articles/boeing-order.html": Route.fixture("boeing-order.html"),
            "/private/memo.html": Route.fixture("boeing-order.html"),
        }
    )
    feed = FeedConfig(name="titles", url=feed_server.url("/titles.rss"), fetch_body=True)
    sink, bodies = scrape_once(settings_for_scrape, feed)
    boeing, memo = sorted(sink.items, key=lambda i: i.title)
    assert "150 wide-body jets" in boeing.text and "Cookie settings" not in boeing.text
    assert boeing.tickers == ["BA"]
    assert memo.text == "" and not feed_server.requests_to("/private/memo.html")
    assert bodies == 1
    assert len(feed_server.requests_to("/robots.txt")) == 1  # cached per origin


def test_bodies_are_not_fetched_unless_asked(feed_server: FeedServer, settings_for_scrape: Settings) -> None:
    feed_server.routes["/titles.rss"] = Route.fixture("titles.rss.xml")
    feed = FeedConfig(name="titles", url=feed_server.url("/titles.rss"))
    sink, _ = scrape_once(settings_for_scrape, feed)
    assert len(sink.items) == 2 and [r.path for r in feed_server.requests] == ["/titles.rss"]


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (500, False), (503, False)])
def test_robots_txt_errors_follow_rfc_9309(
    feed_server: FeedServer, fetcher: Fetcher, status: int, allowed: bool
) -> None:
    feed_server.routes["/robots.txt"] = Route(status=status, content_type="text/plain")
    assert RobotsCache(fetcher).allowed(feed_server.url("/articles/x.html")) is allowed


def test_robots_rules_apply_per_path(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/robots.txt"] = Route.fixture("robots.txt")
    robots = RobotsCache(fetcher)
    assert robots.allowed(feed_server.url("/articles/x.html"))
    assert not robots.allowed(feed_server.url("/private/y.html"))
