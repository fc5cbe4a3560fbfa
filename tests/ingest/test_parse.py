"""Feed parsing of the RSS 2.0, Atom and JSON Feed fixtures, and refusal of malformed bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.ingest.parse import FeedParseError, parse_feed

from .feedserver import fixture_bytes


def test_rss() -> None:
    feed = parse_feed(fixture_bytes("markets.rss.xml"), "http://example.test/rss.xml", "application/rss+xml")
    assert feed.title == "Example Markets Wire"
    assert feed.language == "en-us"
    assert len(feed.entries) == 5
    first = feed.entries[0]
    assert first.title == "Apple shares fall after iPhone sales miss forecasts"
    assert first.link is not None and first.link.startswith("http://example.test/markets/apple-iphone-sales-miss")
    assert first.published == datetime(2025, 11, 4, 14, 30, tzinfo=UTC)
    assert feed.entries[2].published == datetime(2025, 11, 5, 17, 0, tzinfo=UTC)  # -0500 converted to UTC


def test_atom() -> None:
    feed = parse_feed(fixture_bytes("wire.atom.xml"), "http://other.test/atom.xml", "application/atom+xml")
    assert [e.guid for e in feed.entries] == [
        "urn:syndication:apple-1",
        "urn:syndication:fed-2",
        "urn:syndication:tesla-3",
    ]
    assert feed.entries[1].published == datetime(2025, 11, 5, 19, 10, tzinfo=UTC)
    assert "NASDAQ:TSLA" in feed.entries[2].summary  # <content> when there is no <summary>
    assert feed.entries[0].language == "en"


def test_json_feed() -> None:
    feed = parse_feed(fixture_bytes("deals.feed.json"), "http://json.test/feed.json", "application/feed+json")
    assert feed.title == "Deals JSON Feed"
    first, german, linkless = feed.entries
    assert first.published == datetime(2025, 11, 3, 7, 15, tzinfo=UTC)
    assert first.language == "en"
    assert german.summary.startswith("<p>Die Deutsche Bank")
    assert linkless.link is None and linkless.guid == "deal-3" and linkless.published is None


@pytest.mark.parametrize(
    ("date_published", "expected"),
    [
        ("2025-11-03T07:00:00Z", datetime(2025, 11, 3, 7, tzinfo=UTC)),
        ("2025-11-03t07:00:00z", datetime(2025, 11, 3, 7, tzinfo=UTC)),  # RFC 3339 allows lower case
        ("2025-11-03 08:00:00.5+01:00", datetime(2025, 11, 3, 7, 0, 0, 500000, tzinfo=UTC)),
        (" 2025-11-03T07:00:00-00:00 ", datetime(2025, 11, 3, 7, tzinfo=UTC)),
        ("2025-11-03T07:00:00", datetime(2025, 11, 3, 7, tzinfo=UTC)),  # no zone: taken as UTC
        ("yesterday", None),
        ("", None),
    ],
)
def test_json_feed_times(date_published: str, expected: datetime | None) -> None:
    item = {"id": "a", "title": "t", "url": "http://json.test/a", "date_published": date_published}
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [item]}).encode()
    (entry,) = parse_feed(body, "http://json.test/feed.json", "application/feed+json").entries
    assert entry.published == expected


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    feed = parse_feed(fixture_bytes("titles.rss.xml"), "http://127.0.0.1:9/feeds/titles.xml", "application/rss+xml")
    assert feed.entries[0].link == "http://127.0.0.1:9/articles/boeing-order.html"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (fixture_bytes("malformed.xml"), "application/rss+xml"),
        (b"<html><body>Not a feed</body></html>", "text/html"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/feed+json"),
        (b'{"title": "no version"}', "application/json"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": "nope"}', "application/json"),
        (b"", "application/rss+xml"),
    ],
)
def test_malformed_bodies_raise(body: bytes, content_type: str) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(body, "http://example.test/feed", content_type)
