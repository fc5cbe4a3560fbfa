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
        self.current = start
        self.pending: deque[tuple[float, datetime]] = deque()
        self._lock = threading.Lock()

    def sent(self, published_at: datetime) -> None:
        with self._lock:
            self.pending.append((self.monotonic(), published_at))

    def __call__(self) -> datetime:
        cutoff = self.monotonic() - self.lag
        with self._lock:
            while self.pending and self.pending[0][0] <= cutoff:
                self.current = max(self.current, self.pending.popleft()[1])
            return self.current
