"""What the live view shows, computed from raw counts, and when a replay has settled (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


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
    alerts: list[str] = field(default_factory=list)  # one summary per firing alert
    notes: list[str] = field(default_factory=list)

    @property
    def negative_share(self) -> float:
        total = sum(row.count for row in self.topics)
        return sum(row.negative for row in self.topics) / total if total else 0.0


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
