"""The evaluator: one run judges every step not judged yet, feeds the detector, and persists what it produced.

Order matters for "nothing lost, nothing twice": history and outbox are written (idempotently, keyed by the
event) before the detector state; a crash in between re-judges the same steps from the old state and produces
the same keys, which the outbox keeps only once.

Event time and late news: a step [t, t + step) is judged once `lag` (the allowed lateness) has passed after
its end. News that arrives later is indexed and shown, and counts towards the baseline from then on (it is in
the counts the next warm-up reads), but a judged step is never re-opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alerts.alert import AlertEvent
from alerts.counts import CountSource, Observation, Series
from alerts.detector import Detector
from alerts.evidence import enrich
from alerts.notifier import Notifier
from alerts.rules import Rule, Rules
from alerts.scopes import ALL, ScopeKey
from alerts.stores import History, Lease, StateStore

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=6)  # after a restart or stall, the steps judged (older ones only feed the baseline)
WARM_UP = timedelta(days=3)  # a fresh evaluator learns baselines from this much history
WARM_UP_STEP = timedelta(hours=1)


def window_end(now: datetime, step: timedelta, lag: timedelta) -> datetime:
    """The latest step boundary at least `lag` before `now` (steps are aligned to the step, in UTC)."""
    step_s = int(step.total_seconds())
    seconds = int((now - lag).timestamp()) // step_s * step_s
    return datetime.fromtimestamp(seconds, UTC)


class Evaluator:
    """Judges the rules once per new step while it holds the lease."""

    def __init__(
        self,
        rules: Rules,
        source: CountSource,
        state: StateStore,
        history: History,
        notifier: Notifier,
        lease: Lease,
        clock: Callable[[], datetime],
        lag: timedelta,
        kibana_url: str = "",
    ) -> None:
        self.rules, self.source, self.state, self.history = rules, source, state, history
        self.notifier, self.lease, self.clock, self.lag = notifier, lease, clock, lag
        self.kibana_url = kibana_url
        self.detector = Detector(rules)
        self.last_end: datetime | None = None
        self.leader = False  # held the lease at the last run: its firing() is the truth to re-send
        self._loaded = False

    def load(self) -> None:
        """Restore the detector from the store, so a restart neither re-fires nor forgets a firing alert."""
        states, self.last_end = self.state.load()
        self.detector.restore(states)
        self._loaded = True
        log.info("alert state restored: %d scopes known, last step end %s", len(self.detector.states), self.last_end)

    def run_once(self) -> list[AlertEvent]:
        """Judge the complete steps not yet judged, if this evaluator holds the lease."""
        self.leader = self.lease.acquire(self.clock())
        if not self.leader:
            log.debug("another evaluator holds the lease")
            self._loaded = False  # the holder moves the state on: reload before judging again
            return []
        if not self._loaded:
            self.load()
        end = window_end(self.clock(), self.rules.step, self.lag)
        steps = self.due(end)
        if not steps:
            return []
        events: list[AlertEvent] = []
        for moment, observations, parent in self._observe(steps[0] - self.rules.step, end):
            produced = self.detector.step(observations, parent, at=moment)
            produced = enrich(produced, self.detector, self.rules, self.source, self.kibana_url)
            self.history.record(produced)
            self.notifier.enqueue(produced)
            for event in produced:
                log.info("alert %s %s: %s", event.status, event.fingerprint, event.annotations.get("summary", ""))
            events += produced
        self.last_end = end
        self.state.save(self.detector.snapshot(), end)
        return events

    def due(self, end: datetime) -> list[datetime]:
        """Step ends to judge now, oldest first: every step since the last one judged, so the CUSUMs see the
        news in order after a restart or a stall, but not more than CATCH_UP (older steps of an outage only
        feed the baselines: paging now about news hours old would mislead). A fresh evaluator warms up first.
        """
        step = self.rules.step
        if self.last_end is None:
            self._warm_up(end - step)
            return [end]
        missed = int((end - self.last_end) / step)
        if missed <= 0:
            return []
        keep = max(1, int(CATCH_UP / step))
        if missed > keep:
            log.warning("alert evaluation skipped %d steps (evaluator stopped or stalled)", missed - keep)
            self._warm_up(end - step * keep, since=self.last_end)
        return [end - step * i for i in range(min(missed, keep) - 1, -1, -1)]

    def _warm_up(self, until: datetime, since: datetime | None = None) -> None:
        """Teach the detector the baselines from hourly counts before `until` (no alerts from them)."""
        start = since or until - WARM_UP
        start = start - timedelta(seconds=start.timestamp() % WARM_UP_STEP.total_seconds())
        for moment, observations, parent in self._observe(start, until, WARM_UP_STEP):
            self.detector.learn(observations, parent, at=moment)

    def _observe(
        self, start: datetime, end: datetime, step: timedelta | None = None
    ) -> list[tuple[datetime, list[Observation], tuple[int, int]]]:
        """Per step in [start, end): its end, the observations of every rule's scopes with news, all news."""
        step = step or self.rules.step
        count = int((end - start) / step)
        if count <= 0:
            return []
        by_story = any(rule.scope.kind == "all" and rule.count == "stories" for rule in self.rules.rules)
        all_news = self.source.parent(start, end, step, by_story)
        parent = _parent_counts(all_news, self.rules)
        per_step: list[list[Observation]] = [[] for _ in range(count)]
        for rule in self.rules.rules:
            for scope, series in sorted(self._counts(rule, all_news, by_story, start, end, step).items()):
                story_neg, story_tot = series.story_negatives, series.story_totals
                for i, (neg, tot) in enumerate(zip(series.negatives[:count], series.totals[:count], strict=False)):
                    if tot:
                        lo = start + step * i
                        stories = (story_neg[i], story_tot[i]) if story_neg and story_tot else (None, None)
                        per_step[i].append(Observation(rule.name, scope, lo, lo + step, neg, tot, *stories))
        return [(start + step * (i + 1), per_step[i], (parent[0][i], parent[1][i])) for i in range(count)]

    def _counts(
        self, rule: Rule, all_news: Series, by_story: bool, start: datetime, end: datetime, step: timedelta
    ) -> dict[ScopeKey, Series]:
        """The rule's counts per scope; an all-news rule counting as `all_news` was counted (stories when
        `by_story`) reuses it (the same query: not sent twice)."""
        if rule.scope.kind == "all" and (rule.count == "stories") == by_story:
            return {ALL: all_news}
        return self.source.counts(rule, start, end, step)

    def firing(self) -> list[AlertEvent]:
        return self.detector.firing()


def _parent_counts(parent: Series, rules: Rules) -> tuple[list[int], list[int]]:
    """All news' (negatives, news) per step, counted as the backtest counts them: distinct stories when a rule
    counts stories (and the source knows them), items otherwise."""
    if any(rule.count == "stories" for rule in rules.rules) and parent.story_negatives and parent.story_totals:
        return parent.story_negatives, parent.story_totals
    return parent.negatives, parent.totals
