"""What the live view shows, computed from raw counts (pure)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


class RateMeter:
    """Documents per second over a sliding window of (time, total) samples; the clock is the caller's."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def push(self, now: float, total: int) -> float:
        self.samples.append((now, total))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        first_t, first_n = self.samples[0]
        return (total - first_n) / (now - first_t) if now > first_t else 0.0


@dataclass(frozen=True)
class TopicRow:
    topic: str
    count: int
    negative: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.count if self.count else 0.0


@dataclass(frozen=True)
class Headline:
    time: str
    sentiment: str
    topic: str
    title: str
    tickers: tuple[str, ...] = ()


@dataclass
class Snapshot:
    """One refresh of the live view."""

    indexed: int = 0
    rate: float = 0.0
    dead_letters: int = 0
    topics: list[TopicRow] = field(default_factory=list)
    tickers: list[TopicRow] = field(default_factory=list)
    latest: list[Headline] = field(default_factory=list)
    alerts: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def negative_share(self) -> float:
        total = sum(row.count for row in self.topics)
        return sum(row.negative for row in self.topics) / total if total else 0.0


class ReplayClock:
    """The event time of a replayed feed, for alerting on a demo replay in accelerated time.

    `sent()` is called per record sent with its published time; the clock reads the published time of the
    newest record sent at least `lag` seconds ago (by the injected monotonic clock), so that what it calls
    "now" has had time to be scored and indexed. Before anything qualifies it reads `start`.
    """

    def __init__(self, start: datetime, lag: float, monotonic: Callable[[], float]) -> None:
        self.lag = lag
        self.monotonic = monotonic
        self.start = start
        self.current = start
        self.pending: deque[tuple[float, datetime]] = deque()
        self.sent_times: list[datetime] = []
        self.cap: datetime | None = None
        self._lock = threading.Lock()

    def sent(self, published_at: datetime) -> None:
        with self._lock:
            self.pending.append((self.monotonic(), published_at))
            self.sent_times.append(published_at)

    def indexed(self, count: int) -> None:
        """The index holds `count` documents: the clock goes no further than the `count`-th record sent, so a
        worker slower than the replay (a cold start) holds the clock back instead of steps being judged empty.
        A count above what was sent (an index with older documents) sets no cap."""
        with self._lock:
            if count <= len(self.sent_times):
                self.cap = self.sent_times[count - 1] if count > 0 else self.start

    def __call__(self) -> datetime:
        cutoff = self.monotonic() - self.lag
        with self._lock:
            while self.pending and self.pending[0][0] <= cutoff:
                self.current = max(self.current, self.pending.popleft()[1])
            return min(self.current, self.cap) if self.cap is not None else self.current


class Settled:
    """Whether a condition (a replay all indexed) has held for `quiet` seconds on the caller's clock:
    `finmon up --screenshot` takes its picture then, once the alert evaluator has caught up."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self.since: float | None = None

    def push(self, now: float, holds: bool) -> bool:
        if not holds:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= self.quiet
