"""RawEntry → NewsItem: canonical URL and id, clean text, UTC time, language and tickers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

from monitor.ingest.language import LanguageDetector, primary_subtag
from monitor.ingest.parse import RawEntry
from monitor.ingest.tickers import TickerExtractor
from monitor.news.ids import canonical_url, stable_hash
from monitor.news.schemas import NewsItem
from monitor.scoring.textnorm import normalize

OLDEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)  # before web news feeds existed
MAX_TITLE = 1000
MAX_TEXT = 20_000


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment, skipping scripts and styles."""

    SKIP = frozenset({"script", "style", "noscript"})
    BREAKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain, normalised text of an HTML (or plain text) fragment."""
    if "<" not in fragment:
        return normalize(fragment)
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return normalize(" ".join(parser.parts))


def plausible_time(published: datetime | None, fetched_at: datetime, max_future_skew: timedelta) -> datetime:
    """The published time, or the fetch time when it is missing, before 1995 or too far in the future."""
    if published is None or published < OLDEST_PLAUSIBLE or published > fetched_at + max_future_skew:
        return fetched_at
    return published


def entry_url(entry: RawEntry) -> str | None:
    """The canonical article URL: the link, else a guid that is a URL. Only http(s) links with a host are kept:
    `javascript:`, `data:`, `file:` and other schemes never reach news.raw."""
    for candidate in (entry.link, entry.guid):
        if url := web_url(candidate):
            return url
    return None


def web_url(link: str | None) -> str | None:
    """`link` canonicalised when it is an http(s) URL with a host, else None (malformed ports included)."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return canonical_url(link)
    except ValueError:
        return None


@dataclass(frozen=True)
class FeedContext:
    """What a feed contributes to its items: the source name and the language it declares."""

    source: str
    language: str | None = None


class Normalizer:
    """Turns feed entries into NewsItems; story_id/is_first are left for the dedup stage."""

    def __init__(
        self, tickers: TickerExtractor, languages: LanguageDetector | None = None, max_future_skew: float = 3600.0
    ) -> None:
        self.tickers = tickers
        self.languages = languages
        self.max_future_skew = timedelta(seconds=max_future_skew)

    def item(self, entry: RawEntry, feed: FeedContext, fetched_at: datetime) -> NewsItem | None:
        """The NewsItem for an entry, or None when it has neither title nor text."""
        title = html_to_text(entry.title)[:MAX_TITLE]
        text = html_to_text(entry.summary)[:MAX_TEXT]
        if not title and not text:
            return None
        published = plausible_time(entry.published, fetched_at, self.max_future_skew)
        url = entry_url(entry)
        return NewsItem.model_validate(
            {
                "url": url,
                "source": feed.source,
                "title": title,
                "text": text,
                "published_at": published,
                "fetched_at": fetched_at,
                "language": self.language(entry, feed, f"{title}. {text}"),
                "tickers": self.tickers.extract(f"{title}\n{text}"),
                # an entry without a URL keeps its feed guid as identity, so a re-poll gives the same id
                "id": "" if url or not entry.guid else _guid_id(feed.source, entry.guid),
            }
        )

    def language(self, entry: RawEntry, feed: FeedContext, text: str) -> str | None:
        declared = primary_subtag(entry.language) or primary_subtag(feed.language)
        if declared:
            return declared
        return self.languages.detect(text) if self.languages else None


def _guid_id(source: str, guid: str) -> str:
    return stable_hash("guid", source.lower(), guid)
