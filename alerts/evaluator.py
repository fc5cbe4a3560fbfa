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
        """Evaluate the complete windows not yet evaluated, if this evaluator holds the lease."""
        if not self.lease.acquire(self.clock()):
            log.debug("another evaluator holds the lease")
            self._loaded = False  # the holder moves the state on: reload before evaluating again
            return []
        if not self._loaded:
            self.load()
        events: list[AlertEvent] = []
        for end in self.due(window_end(self.clock(), self.rules.step, self.lag)):
            produced = self.detector.step(observe(self.rules, self.source, end), at=end)
            self.history.record(produced)
            self.notifier.enqueue(produced)
            self.state.save(self.detector.snapshot(), end)
            self.last_end = end
            for event in produced:
                log.info("alert %s %s: %s", event.status, event.fingerprint, event.annotations.get("summary", ""))
            events += produced
        return events

    def due(self, end: datetime) -> list[datetime]:
        """Window ends to evaluate now, oldest first: every step since the last one, so that n of m and the
        clear count see consecutive windows after a restart or a stall, but no more than those rules look back
        (an outage's older windows are skipped: alerting on them now would page about news hours old).
        """
        if self.last_end is None:
            return [end]
        step = self.rules.step
        missed = int((end - self.last_end) / step)
        if missed <= 0:
            return []
        keep = max(max(r.fire.m, r.resolve.clear_windows) for r in self.rules.rules)
        if missed > keep:
            log.warning("alert evaluation skipped %d windows (evaluator stopped or stalled)", missed - keep)
        return [end - step * i for i in range(min(missed, keep) - 1, -1, -1)]

    def firing(self) -> list[AlertEvent]:
        return self.detector.firing()
