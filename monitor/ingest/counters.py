"""Counters for logs and the live view: what was polled, emitted, skipped and what failed, per feed too."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class FeedStatus:
    polls: int = 0
    emitted: int = 0
    failures: int = 0
    last_ok: datetime | None = None
    last_error: str | None = None


@dataclass
class ScrapeStats:
    """Thread-safe counters. `counts` keys: polls, not_modified, entries, emitted, duplicates, linked,
    invalid_entries, bodies, failures; `failures` is keyed by kind (timeout, http_status, malformed, ...)."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, feed: str | None = None, **counts: int) -> None:
        with self._lock:
            self.counts.update(counts)
            if feed is not None:
                self._feed(feed).emitted += counts.get("emitted", 0)

    def polled(self, feed: str, when: datetime) -> None:
        with self._lock:
            self.counts["polls"] += 1
            status = self._feed(feed)
            status.polls += 1
            status.last_ok = when
            status.last_error = None

    def failed(self, feed: str, kind: str, message: str) -> None:
        with self._lock:
            self.counts["polls"] += 1
            self.counts["failures"] += 1
            self.failures[kind] += 1
            status = self._feed(feed)
            status.polls += 1
            status.failures += 1
            status.last_error = message

    def _feed(self, name: str) -> FeedStatus:
        return self.feeds.setdefault(name, FeedStatus())

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly copy: {"counts": {...}, "failures": {...}, "feeds": {name: {...}}}."""
        with self._lock:
            return {
                "counts": dict(self.counts),
                "failures": dict(self.failures),
                "feeds": {
                    name: {**vars(s), "last_ok": s.last_ok.isoformat() if s.last_ok else None}
                    for name, s in self.feeds.items()
                },
            }
