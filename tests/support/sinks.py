"""In-memory sinks with the product's contracts: the scraper's `Sink` and the worker's `ScoredSink`."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from monitor.contracts import Rejected
from monitor.news.schemas import EncodedNews, NewsItem, ScoredNews


class MemorySink:
    """Keeps emitted items in a list: a fake for tests and embedding."""

    def __init__(self) -> None:
        self.items: list[NewsItem] = []
        self._lock = threading.Lock()

    def emit(self, items: list[NewsItem]) -> None:
        with self._lock:
            self.items.extend(items)

    def close(self) -> None:
        pass


class MemoryScoredSink:
    """An in-memory ScoredSink (same contract as EsNewsSink) for testing batch processing without a server."""

    def __init__(self, reject: dict[str, str] | None = None) -> None:
        self.docs: dict[str, ScoredNews] = {}
        self.reject = reject or {}

    def write(self, docs: Sequence[EncodedNews]) -> list[Rejected]:
        rejected = [Rejected(news.doc, self.reject[news.doc.id]) for news in docs if news.doc.id in self.reject]
        for news in docs:
            if news.doc.id not in self.reject:
                self.docs.setdefault(news.doc.id, news.doc)
        return rejected


def encoded(docs: Sequence[ScoredNews]) -> list[EncodedNews]:
    """Scored news as a ScoredSink takes them (the worker's batch processor wraps them the same way)."""
    return [EncodedNews(doc) for doc in docs]
