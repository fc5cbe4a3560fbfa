"""One poll of one feed, end to end: fetch → parse → normalise → drop seen ids → link stories → emit → remember.

Nothing here raises: every failure is logged with the feed URL and counted, so one bad feed never stops the
others. Items are marked seen (and the feed's ETag saved) only after the sink accepted them, so a failed send
is retried on the next poll instead of being lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.ingest.body import BodyFetcher
from monitor.ingest.counters import ScrapeStats
from monitor.ingest.dedup import StoryLinker
from monitor.ingest.feeds import FeedConfig
from monitor.ingest.fetch import Fetcher, FetchError
from monitor.ingest.normalize import MAX_TEXT, FeedContext, Normalizer, html_to_text
from monitor.ingest.parse import FeedParseError, ParsedFeed, parse_feed
from monitor.ingest.similarity import to_bytes
from monitor.ingest.sinks import Sink
from monitor.ingest.state import ScraperState, SeenItem
from monitor.news.schemas import NewsItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    emitted: int = 0
    error: str | None = None


class Ingestor:
    """Polls feeds into a sink; safe to call from many scheduler threads at once."""

    def __init__(
        self,
        fetcher: Fetcher,
        store: ScraperState,
        linker: StoryLinker,
        normalizer: Normalizer,
        sink: Sink,
        clock: Callable[[], datetime],
        body: BodyFetcher | None = None,
        fetch_body_default: bool = False,
        body_min_chars: int = 200,
        stats: ScrapeStats | None = None,
    ) -> None:
        self.fetcher, self.store, self.linker, self.normalizer = fetcher, store, linker, normalizer
        self.sink, self.clock, self.body = sink, clock, body
        self.fetch_body_default = fetch_body_default
        self.body_min_chars = body_min_chars
        self.stats = stats or ScrapeStats()
        self._emit_lock = threading.Lock()  # dedup + link + emit + mark is one step across all feeds

    def poll(self, feed: FeedConfig) -> PollOutcome:
        """Poll one feed once; never raises."""
        try:
            return self._poll(feed)
        except FetchError as exc:
            return self._failed(feed, exc.kind, str(exc))
        except FeedParseError as exc:
            return self._failed(feed, "malformed", f"malformed: {feed.url}: {exc}")
        except Exception as exc:  # a bug or a sink failure must not kill the scheduler thread
            log.debug("poll of %s failed", feed.url, exc_info=True)
            kind = "produce" if isinstance(exc, _EmitError) else "internal"
            return self._failed(feed, kind, f"{kind}: {feed.url}: {exc.__cause__ or exc}")

    def _poll(self, feed: FeedConfig) -> PollOutcome:
        result = self.fetcher.fetch(feed.url, self.store.validators(feed.url))
        fetched_at = self.clock()
        if result.not_modified:
            self.stats.polled(feed.name, fetched_at)
            self.stats.add(not_modified=1)
            return PollOutcome(feed.name)
        parsed = parse_feed(result.body or b"", result.url, result.content_type)
        items = self._items(parsed, feed, fetched_at)
        emitted = self._emit(self._with_bodies(feed, self._unseen(items)), feed)
        self.store.save_validators(feed.url, result.validators)
        self.stats.polled(feed.name, fetched_at)
        log.debug("%s: %d entries, %d emitted", feed.name, len(parsed.entries), emitted)
        return PollOutcome(feed.name, emitted)

    def _failed(self, feed: FeedConfig, kind: str, message: str) -> PollOutcome:
        log.warning("feed %r failed (%s): %s", feed.name, kind, message)
        self.stats.failed(feed.name, kind, message)
        return PollOutcome(feed.name, error=kind)

    def _items(self, parsed: ParsedFeed, feed: FeedConfig, fetched_at: datetime) -> list[NewsItem]:
        context = FeedContext(feed.name, feed.language or parsed.language)
        items, invalid = [], 0
        for entry in parsed.entries:
            try:
                item = self.normalizer.item(entry, context, fetched_at)
            except ValueError as exc:  # pydantic validation of an absurd entry
                log.debug("%s: entry skipped: %s", feed.url, exc)
                item = None
            if item is None:
                invalid += 1
            else:
                items.append(item)
        self.stats.add(entries=len(parsed.entries), invalid_entries=invalid)
        return items

    def _unseen(self, items: list[NewsItem]) -> list[NewsItem]:
        """Items not emitted before (cheap pre-filter so bodies are fetched only for new items)."""
        fresh = self.store.unseen(i.id for i in items)
        kept = [i for i in items if i.id in fresh]
        self.stats.add(duplicates=len(items) - len(kept))
        return kept

    def _with_bodies(self, feed: FeedConfig, items: list[NewsItem]) -> list[NewsItem]:
        wanted = feed.fetch_body if feed.fetch_body is not None else self.fetch_body_default
        if not wanted or self.body is None:
            return items
        return [self._with_body(i) if i.url and len(i.text) < self.body_min_chars else i for i in items]

    def _with_body(self, item: NewsItem) -> NewsItem:
        text = self.body.text(item.url) if self.body and item.url else None
        if not text:
            return item
        self.stats.add(bodies=1)
        text = html_to_text(text)[:MAX_TEXT]
        tickers = self.normalizer.tickers.extract(f"{item.title}\n{text}")
        return item.model_copy(update={"text": text, "tickers": sorted(set(tickers))})

    def _emit(self, items: list[NewsItem], feed: FeedConfig) -> int:
        with self._emit_lock:
            fresh_ids = self.store.unseen(i.id for i in items)  # again: another feed may have sent it meanwhile
            batch, seen, dupes = [], set(), 0
            for item in items:
                if item.id not in fresh_ids or item.id in seen:
                    dupes += 1
                    continue
                seen.add(item.id)
                batch.append(self._linked(item))
            if batch:
                try:
                    self.sink.emit([linked for linked, _ in batch])
                except Exception as exc:
                    raise _EmitError(str(exc)) from exc
                self.store.mark(record for _, record in batch)
        linked = sum(1 for item, _ in batch if not item.is_first)
        self.stats.add(feed.name, emitted=len(batch), duplicates=dupes, linked=linked)
        return len(batch)

    def _linked(self, item: NewsItem) -> tuple[NewsItem, SeenItem]:
        now = self.clock()
        when = item.published_at or now
        link, sig = self.linker.link(item.id, item.title, item.text, when, now)
        linked = item.model_copy(update={"story_id": link.story_id, "is_first": link.is_first})
        return linked, SeenItem(item.id, link.story_id, when, to_bytes(sig))


class _EmitError(RuntimeError):
    """The sink refused a batch (Kafka unreachable, disk full)."""
