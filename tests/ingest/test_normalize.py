"""Entry → NewsItem: canonical URLs and ids, clean text, plausible UTC times, language, tickers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.ingest.companies import default_extractor
from monitor.ingest.language import LanguageDetector, primary_subtag
from monitor.ingest.normalize import FeedContext, Normalizer, html_to_text, plausible_time
from monitor.ingest.parse import RawEntry
from monitor.news.ids import canonical_url, news_id

FETCHED = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)
FEED = FeedContext("Example Wire", "en-US")


def _normalizer(detector: LanguageDetector | None = None) -> Normalizer:
    return Normalizer(default_extractor(), detector, max_future_skew=3600)


def _entry(**fields: object) -> RawEntry:
    defaults: dict[str, object] = {
        "link": "http://example.test/a?utm_source=x&id=7#top",
        "guid": None,
        "title": "Nvidia beats",
        "summary": "",
        "published": datetime(2025, 11, 5, tzinfo=UTC),
    }
    return RawEntry(**{**defaults, **fields})  # type: ignore[arg-type]


def test_url_is_canonical_and_id_derives_from_it() -> None:
    item = _normalizer().item(_entry(), FEED, FETCHED)
    assert item is not None
    assert item.url == "http://example.test/a?id=7"
    assert item.id == news_id("http://www.example.test/a?id=7&fbclid=zz")


def test_tracking_parameters_and_fragments_are_removed() -> None:
    assert (
        canonical_url("HTTPS://Example.TEST:443/x/?utm_campaign=a&b=2&a=1&gclid=z#frag")
        == "https://example.test/x?a=1&b=2"
    )


def test_html_is_reduced_to_normalised_text() -> None:
    summary = "<p>Shares of <b>Apple</b>&amp;amp; co</p><script>evil()</script><p>rose &#8212; 3%</p>"
    item = _normalizer().item(_entry(title="<i>Apple</i> up", summary=summary), FEED, FETCHED)
    assert item is not None
    assert item.title == "Apple up"
    assert item.text == "Shares of Apple & co rose — 3%"
    assert html_to_text("plain &amp; simple") == "plain & simple"


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime(2025, 11, 5, 9, tzinfo=UTC), datetime(2025, 11, 5, 9, tzinfo=UTC)),
        (None, FETCHED),
        (datetime(2101, 1, 1, tzinfo=UTC), FETCHED),
        (datetime(1970, 1, 1, tzinfo=UTC), FETCHED),
        (FETCHED + timedelta(minutes=30), FETCHED + timedelta(minutes=30)),  # small clock skew is kept
    ],
)
def test_published_time_falls_back_to_fetch_time_when_missing_or_absurd(
    published: datetime | None, expected: datetime
) -> None:
    assert plausible_time(published, FETCHED, timedelta(hours=1)) == expected


def test_entries_without_title_or_text_are_dropped() -> None:
    assert _normalizer().item(_entry(title="  ", summary="<p> </p>"), FEED, FETCHED) is None


def test_an_entry_without_url_gets_a_stable_id_from_its_guid() -> None:
    one = _normalizer().item(_entry(link=None, guid="wire-1"), FEED, FETCHED)
    again = _normalizer().item(_entry(link=None, guid="wire-1", title="Nvidia beats (corrected)"), FEED, FETCHED)
    assert one is not None and again is not None
    assert one.url is None and one.id == again.id


def test_tickers_are_extracted_from_title_and_text() -> None:
    item = _normalizer().item(_entry(title="Chip rally", summary="$NVDA and NYSE: GS rally"), FEED, FETCHED)
    assert item is not None and item.tickers == ["GS", "NVDA"]


def test_declared_language_wins_and_is_reduced_to_its_primary_subtag() -> None:
    item = _normalizer().item(_entry(language="de-DE"), FEED, FETCHED)
    assert item is not None and item.language == "de"
    assert primary_subtag("en_GB") == "en"
    assert primary_subtag("not a tag!") is None


def test_language_is_detected_when_nothing_is_declared() -> None:
    entry = _entry(title="Deutsche Bank übertrifft die Erwartungen", summary="Die Bank hat mehr verdient als erwartet.")
    item = _normalizer(LanguageDetector()).item(entry, FeedContext("Wire"), FETCHED)
    assert item is not None and item.language == "de"
    assert LanguageDetector().detect("too short") is None


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "ftp://example.test/a",
        "http://",
        "http://example.test:99999/a",
    ],
)
def test_only_http_links_reach_the_news(link: str) -> None:
    """A hostile or unusable link is dropped at ingest; the item keeps a stable id from its guid."""
    item = _normalizer().item(_entry(link=link, guid="urn:story:1"), FEED, FETCHED)
    assert item is not None and item.url is None
    assert item.id == _normalizer().item(_entry(link=None, guid="urn:story:1"), FEED, FETCHED).id  # type: ignore[union-attr]


def test_a_guid_that_is_a_web_url_stands_in_for_a_hostile_link() -> None:
    item = _normalizer().item(_entry(link="javascript:void(0)", guid="https://example.test/story"), FEED, FETCHED)
    assert item is not None and item.url == "https://example.test/story"
