"""The scraper's persistent state in one sqlite file: ids already emitted (bounded by count and age), their
story signatures for linking after a restart, and each feed's ETag / Last-Modified."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.ingest.fetch import Validators

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    item_time REAL NOT NULL,
    seen_at REAL NOT NULL,
    signature BLOB
);
CREATE INDEX IF NOT EXISTS seen_by_age ON seen (seen_at);
CREATE TABLE IF NOT EXISTS feed_state (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    updated_at REAL NOT NULL
);
"""
PRUNE_EVERY = 1000  # inserts between size/age checks


@dataclass(frozen=True)
class SeenItem:
    """An emitted item as remembered: enough to skip it and to link later copies to its story."""

    id: str
    story_id: str
    item_time: datetime
    signature: bytes | None = None
    seen_at: datetime | None = None  # filled when read back


class ScraperState:
    """Thread-safe sqlite store; `path=None` keeps the state in memory (dry runs, tests)."""

    def __init__(
        self, path: Path | None, max_items: int, ttl_seconds: float, clock: Callable[[], datetime] | None = None
    ) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self.max_items = max_items
        self.ttl_seconds = ttl_seconds
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._since_prune = 0
        self.prune()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def unseen(self, ids: Iterable[str]) -> set[str]:
        """The ids among these that were never emitted."""
        wanted = set(ids)
        with self._lock:
            for chunk in _chunks(sorted(wanted), 500):
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT id FROM seen WHERE id IN ({marks})", chunk)
                wanted -= {row[0] for row in rows}
        return wanted

    def mark(self, items: Iterable[SeenItem]) -> None:
        """Remember emitted items (one transaction)."""
        now = self._clock().timestamp()
        rows = [(i.id, i.story_id, i.item_time.timestamp(), now, i.signature) for i in items]
        with self._lock:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?, ?)", rows)
            self._since_prune += len(rows)
        if self._since_prune >= PRUNE_EVERY:
            self.prune()

    def recent(self, since: datetime) -> Iterator[SeenItem]:
        """Items emitted at or after `since`, in the order they were emitted (to restore story linking)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id, item_time, signature, seen_at FROM seen WHERE seen_at >= ? ORDER BY seen_at",
                (since.timestamp(),),
            ).fetchall()
        for item_id, story_id, item_time, sig, seen_at in rows:
            when, seen = datetime.fromtimestamp(item_time, UTC), datetime.fromtimestamp(seen_at, UTC)
            yield SeenItem(item_id, story_id, when, sig, seen)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM seen").fetchone()[0])

    def prune(self) -> None:
        """Drop ids older than the TTL, then the oldest beyond the size cap."""
        cutoff = self._clock().timestamp() - self.ttl_seconds
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE seen_at < ?", (cutoff,))
            self._db.execute(
                "DELETE FROM seen WHERE id IN (SELECT id FROM seen ORDER BY seen_at DESC LIMIT -1 OFFSET ?)",
                (self.max_items,),
            )
            self._since_prune = 0

    def validators(self, url: str) -> Validators | None:
        with self._lock:
            row = self._db.execute("SELECT etag, last_modified FROM feed_state WHERE url = ?", (url,)).fetchone()
        return Validators(row[0], row[1]) if row else None

    def save_validators(self, url: str, validators: Validators) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO feed_state VALUES (?, ?, ?, ?)",
                (url, validators.etag, validators.last_modified, self._clock().timestamp()),
            )


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
