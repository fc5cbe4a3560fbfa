"""The evaluator: one run reads windowed counts, feeds the detector, and persists what it produced.

Order matters for "nothing lost, nothing twice": history and outbox are written (idempotently, keyed by the
event) before the detector state; a crash in between re-evaluates the same window from the old state and
produces the same keys, which the outbox keeps only once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alerts.detector import Detector
from alerts.model import AlertEvent
from alerts.notifier import Notifier
from alerts.rules import Rules
from alerts.sources import CountSource, observe
from alerts.stores import History, Lease, StateStore

log = logging.getLogger(__name__)


def window_end(now: datetime, step: timedelta, lag: timedelta) -> datetime:
    """The latest step boundary at least `lag` before `now` (windows are aligned to the step, in UTC)."""
    step_s = int(step.total_seconds())
    seconds = int((now - lag).timestamp()) // step_s * step_s
    return datetime.fromtimestamp(seconds, UTC)


class Evaluator:
    """Evaluates the rules once per new window end while it holds the lease."""

    def __init__(
        self,
        rules: Rules,
        source: CountSource,
        state: StateStore,
        history: History,
        notifier: Notifier,
        lease: Lease,
        clock: Callable[[], datetime],
        lag: timedelta = timedelta(seconds=60),
    ) -> None:
        self.rules, self.source, self.state, self.history = rules, source, state, history
        self.notifier, self.lease, self.clock, self.lag = notifier, lease, clock, lag
        self.detector = Detector(rules, clock)
        self.last_end: datetime | None = None
        self._loaded = False

    def load(self) -> None:
        """Restore the detector from the store, so a restart neither re-fires nor forgets a firing alert."""
        states, self.last_end = self.state.load()
        self.detector.restore(states)
        self._loaded = True
        log.info("alert state restored: %d alerts known, last window end %s", len(states), self.last_end)

    def run_once(self) -> list[AlertEvent]:
        """Evaluate the newest complete window if it is new and this evaluator holds the lease."""
        if not self.lease.acquire(self.clock()):
            log.debug("another evaluator holds the lease")
            self._loaded = False  # the holder moves the state on: reload before evaluating again
            return []
        if not self._loaded:
            self.load()
        end = window_end(self.clock(), self.rules.step, self.lag)
        if self.last_end is not None and end <= self.last_end:
            return []
        events = self.detector.step(observe(self.rules, self.source, end), at=end)
        self.history.record(events)
        self.notifier.enqueue(events)
        self.state.save(self.detector.snapshot(), end)
        self.last_end = end
        for event in events:
            log.info("alert %s %s: %s", event.status, event.fingerprint, event.annotations.get("summary", ""))
        return events

    def firing(self) -> list[AlertEvent]:
        return self.detector.firing()
