"""The demo of `finmon up --demo`: its feed and rules, and alerting on the feed's event time along a clock
that follows the replay (an accelerated day)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from alerts.rules import Rules, load_rules
from monitor.app.settings import Settings
from monitor.stream.replay import read_records

DEMO_INDEX_LAG = 3.0  # seconds between replaying a demo news item and counting it in an alert window


def demo_feed() -> Path:
    return Path(str(resources.files("monitor") / "demo" / "feed.jsonl"))


def demo_rules() -> Path:
    return Path(str(resources.files("monitor") / "demo" / "rules.yaml"))


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


def published_times(path: Path) -> list[datetime]:
    """published_at of each record of a replay file, in order (the previous one where a record has none)."""
    times: list[datetime] = []
    for raw in read_records(path):
        try:
            value = json.loads(raw).get("published_at")
            times.append(datetime.fromisoformat(str(value)).astimezone(UTC))
        except (ValueError, AttributeError):
            times.append(times[-1] if times else datetime.now(UTC))
    return times


def demo_alerting(settings: Settings, feed: Path) -> tuple[Settings, Rules, ReplayClock]:
    """Alerting on the demo replay: event time (published_at) on a clock that follows the replay, demo rules
    sized for a feed of a few hundred news, evaluated every second so the accelerated day is followed."""
    times = published_times(feed)
    clock = ReplayClock(times[0] if times else datetime.now(UTC), lag=DEMO_INDEX_LAG, monotonic=time.monotonic)
    alerts = settings.alerts.model_copy(update={"time_field": "published_at", "evaluate_every": 1.0})
    return settings.model_copy(update={"alerts": alerts}), load_rules(demo_rules()), clock
