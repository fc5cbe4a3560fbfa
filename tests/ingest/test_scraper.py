"""The scraper end to end against the loopback server: dedup, story links, failures, 304s, restarts, schedule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.app.settings import Settings
from monitor.ingest.feeds import FeedConfig
from monitor.ingest.scraper import MEMORY, Scraper, build_scraper
from monitor.news.schemas import NewsItem
from tests.helpers import wait_for
from tests.support.sinks import MemorySink

from .feedserver import FeedServer, Route

GOOD = {
    "/markets.rss": Route.fixture("markets.rss.xml"),
    "/wire.atom": Route.fixture("wire.atom.xml", content_type="application/atom+xml"),
    "/deals.json": Route.fixture("deals.feed.json"),
}
BAD = {
    "/malformed.xml": (Route.fixture("malformed.xml"), "malformed"),
    "/error": (Route(body=b"boom", status=500, content_type="text/plain"), "http_status"),
    "/slow": (Route.fixture("markets.rss.xml", delay=5.0), "timeout"),
    "/endless": (Route(endless=True), "oversize"),
    "/image": (Route(body=b"\x89PNG", content_type="image/png"), "content_type"),
}
APPLE_URL = "http://example.test/markets/apple-iphone-sales-miss"
FED_ORIGINAL = "http://example.test/markets/fed-holds-rates"
FED_COPY = "http://other.test/economy/fed-keeps-rates-unchanged"


def _serve(server: FeedServer, paths: dict[str, Route]) -> list[FeedConfig]:
    server.routes.update(paths)
    return [FeedConfig(name=path.strip("/"), url=server.url(path)) for path in paths]


def _serve_all(server: FeedServer) -> list[FeedConfig]:
    return _serve(server, {**GOOD, **{path: route for path, (route, _) in BAD.items()}})


def _scraper(settings: Settings, feeds: list[FeedConfig], sink: MemorySink, state: Path | str = MEMORY) -> Scraper:
    return build_scraper(
        settings.scrape, settings.kafka, data_dir=settings.data_dir, sink=sink, feeds=feeds, state_path=state
    )


def _by_url(items: list[NewsItem]) -> dict[str | None, NewsItem]:
    return {item.url: item for item in items}


def test_one_pass_emits_clean_deduplicated_linked_items_and_survives_every_failure(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    sink = MemorySink()
    with _scraper(settings_for_scrape, _serve_all(feed_server), sink) as scraper:
        outcomes = scraper.run_once()
        stats = scraper.stats.snapshot()
    assert {o.feed: o.error for o in outcomes if o.error} == {p.strip("/"): kind for p, (_, kind) in BAD.items()}
    assert stats["failures"] == {kind: 1 for _, kind in BAD.values()}
    items = sink.items
    assert len(items) == 10  # 5 RSS + 3 Atom + 3 JSON, less the Apple article carried by two feeds
    assert len({i.id for i in items}) == len(items)
    assert stats["counts"]["duplicates"] == 1 and stats["counts"]["emitted"] == 10
    by_url = _by_url(items)
    assert by_url[APPLE_URL].tickers == ["AAPL"]
    assert by_url["http://example.test/lifestyle/apple-pie"].tickers == []
    assert by_url["http://example.test/markets/goldman-beats"].tickers == ["GS", "MS"]
    assert by_url["http://other.test/autos/tesla-recall"].tickers == ["TSLA"]
    assert by_url["http://json.test/deals/nvidia-arm-stake"].tickers == ["NVDA"]
    assert by_url["http://json.test/deals/deutsche-bank-quartal"].language == "de"
    future = by_url["http://example.test/markets/time-traveller"]
    assert future.published_at == future.fetched_at


def test_a_reworded_syndicated_copy_is_linked_to_the_first_story(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    sink = MemorySink()
    rss, atom = _serve(feed_server, {"/markets.rss": GOOD["/markets.rss"], "/wire.atom": GOOD["/wire.atom"]})
    with _scraper(settings_for_scrape, [rss, atom], sink) as scraper:
        scraper.ingestor.poll(rss)
        scraper.ingestor.poll(atom)
    by_url = _by_url(sink.items)
    original, copy = by_url[FED_ORIGINAL], by_url[FED_COPY]
    assert (original.story_id, original.is_first) == (original.id, True)
    assert (copy.story_id, copy.is_first) == (original.id, False)
    assert by_url["http://other.test/autos/tesla-recall"].is_first is True
    assert [i.url for i in sink.items].count(APPLE_URL) == 1


def test_an_unchanged_feed_costs_a_304_on_the_second_poll(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    sink = MemorySink()
    (feed,) = _serve(feed_server, {"/rss": Route.fixture("markets.rss.xml", etag='"m1"')})
    with _scraper(settings_for_scrape, [feed], sink) as scraper:
        first = scraper.ingestor.poll(feed)
        second = scraper.ingestor.poll(feed)
        counts = scraper.stats.snapshot()["counts"]
    assert (first.emitted, second.emitted, second.error) == (5, 0, None)
    assert counts["not_modified"] == 1 and counts["polls"] == 2
    assert feed_server.requests_to("/rss")[1].headers["if-none-match"] == '"m1"'


def test_a_restart_re_emits_nothing_and_keeps_linking_stories(
    feed_server: FeedServer, settings_for_scrape: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    (rss,) = _serve(feed_server, {"/markets.rss": GOOD["/markets.rss"]})
    before = MemorySink()
    with _scraper(settings_for_scrape, [rss], before, state) as scraper:
        scraper.run_once()
    (atom,) = _serve(feed_server, {"/wire.atom": GOOD["/wire.atom"]})
    after = MemorySink()
    with _scraper(settings_for_scrape, [rss, atom], after, state) as scraper:
        scraper.run_once()
        counts = scraper.stats.snapshot()["counts"]
    assert len(before.items) == 5
    assert {i.url for i in after.items} == {FED_COPY, "http://other.test/autos/tesla-recall"}
    assert counts["duplicates"] == 6  # all 5 RSS items again, and the Apple copy in the Atom feed
    fed_story = _by_url(before.items)[FED_ORIGINAL].id
    copy = _by_url(after.items)[FED_COPY]
    assert (copy.story_id, copy.is_first) == (fed_story, False)


class FlakySink(MemorySink):
    """Refuses the first `failures` batches, like a broker that is down for a while."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def emit(self, items: list[NewsItem]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unavailable")
        super().emit(items)


def test_items_that_could_not_be_sent_are_sent_on_the_next_poll(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    sink = FlakySink(failures=1)
    (feed,) = _serve(feed_server, {"/rss": Route.fixture("markets.rss.xml", etag='"m1"')})
    with _scraper(settings_for_scrape, [feed], sink) as scraper:
        failed = scraper.ingestor.poll(feed)
        retried = scraper.ingestor.poll(feed)
        stats = scraper.stats.snapshot()
    assert (failed.error, retried.emitted) == ("produce", 5)
    assert "if-none-match" not in feed_server.requests_to("/rss")[1].headers  # the ETag was not kept
    assert stats["failures"] == {"produce": 1}
    assert all(i.is_first for i in sink.items)


def test_the_scheduler_keeps_polling_through_every_failure(
    feed_server: FeedServer, settings_for_scrape: Settings
) -> None:
    sink = MemorySink()
    feeds = _serve_all(feed_server)
    scraper = _scraper(settings_for_scrape, feeds, sink)
    scraper.start()
    try:
        wait_for(lambda: all(s.polls >= 2 for s in _feed_status(scraper, feeds)), 20, "every feed polled twice")
        still_running = scraper.running
    finally:
        scraper.stop()
    assert still_running
    stats = scraper.stats.snapshot()
    assert set(stats["failures"]) == {kind for _, kind in BAD.values()}
    assert all(stats["feeds"][name]["last_error"] for name in ("malformed.xml", "error", "slow", "endless", "image"))
    assert len(sink.items) == 10 and max(Counter(i.id for i in sink.items).values()) == 1
    assert not scraper.running


def _feed_status(scraper: Scraper, feeds: list[FeedConfig]) -> list:
    return [scraper.stats.feeds.get(f.name) or _Never() for f in feeds]


class _Never:
    polls = 0


@pytest.mark.parametrize("bad", ["/malformed.xml", "/error"])
def test_one_bad_feed_does_not_stop_the_next(feed_server: FeedServer, settings_for_scrape: Settings, bad: str) -> None:
    sink = MemorySink()
    broken, good = _serve(feed_server, {bad: BAD[bad][0], "/deals.json": GOOD["/deals.json"]})
    with _scraper(settings_for_scrape, [broken, good], sink) as scraper:
        assert scraper.ingestor.poll(broken).error == BAD[bad][1]
        assert scraper.ingestor.poll(good).emitted == 3
