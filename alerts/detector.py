"""The surge detector: per scope, a bank of Bernoulli CUSUMs on the negative indicator of each news item
against an age-weighted baseline share, and a bank of Poisson CUSUMs on the count of negatives against the
scope's seasonal rate times that share, which fires on a burst only while the share is raised too
(alerts/cusum.py); and the alert state machine around them (fire, repeat, resolve on evidence that the share
is back to normal). Pure: no I/O; time is the judged step's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.alert import ALERT_NAME, AlertEvent, Status, fingerprint
from alerts.counts import Observation
from alerts.cusum import (
    BURST_BUDGET,
    BURST_PRIOR_WEIGHT,
    BURST_SHARE_LIFT,
    CALIBRATION,
    INDIFFERENCE,
    ITEMS_CALIBRATION,
    MIN_BURST_NEGATIVES,
    STEP_CAP,
    Ewma,
    burst_increment,
    burst_threshold,
    evidence_per_news,
    llr_terms,
    share_raised,
    shrunk_share,
    threshold,
    volume_raised,
)
from alerts.rules import Rule, Rules
from alerts.scopes import ScopeKey, scope_of
from alerts.tail_probabilities import binomial_sf
from monitor.times import iso

FIRING_WEIGHT = 0.0  # while an alert fires, its scope's baseline is frozen (a surge never becomes its own baseline)
QUARANTINE_S = 3600.0  # steps join the baseline an hour after they were judged
CLEAR_STEPS = 24  # a usual step adds at most 1/24 of the odds to resolve: two hours of normal news at least
CLEAR_MIN_S = 7200.0  # and an episode lasts two hours at least, however few news a quiet scope's step holds
VOLUME_CAP = 3.0  # a step adds at most 3x the scope's usual news per step to its baseline
WATCH_WINDOW_S = 28800.0  # a lift is watched when 8 hours of the scope's usual news can show it (see watched)
RESIDUAL_CAP = 9.0  # squared Pearson residuals are winsorised at 3 standard deviations
DISPERSION_PRIOR = 50.0  # steps' worth of "binomial" (dispersion 1) before a scope's own residuals count
PEAK_HALF_LIFE_S = 1800.0  # the share whose maximum an episode reports as its peak
PEAK_MIN_NEWS = 5.0
HOURS = 24  # the seasonal profile: the scope's news per step at each hour of the day (UTC)
SEASON_PRIOR = 24.0  # steps' worth of the all-day rate each hour's profile is shrunk towards
MAX_GAP_STEPS = 288  # steps without news (a day) that drain the burst CUSUMs one by one; longer gaps reset them
SEASON_CAP = 2.0  # a step adds at most twice its usual news to the profile
LEVEL_HALF_LIFE_S = 5400.0  # the level (news against the profile) weighs the last hours (Monday mornings catch up)
LEVEL_PRIOR = 3.0  # news added to both sides of the level (a quiet scope's level stays near 1)
LEVEL_CAP = 3.0  # the level stays within 1/3 and 3
BURST_HISTORY_S = 2 * 86400.0  # bursts are judged once the profile holds two days (a fresh evaluator learns three)


@dataclass(frozen=True)
class Gate:
    """What a burst's run must also show to fire: its share against `share` (the scope's central share), with
    `negatives` negatives at least."""

    share: float
    negatives: int


@dataclass
class AlertState:
    """What the detector remembers about one scope of one rule (one fingerprint) between steps."""

    labels: dict[str, str]
    first: float  # epoch seconds of the first step the scope was seen
    scope: ScopeKey  # what the labels name, kept typed for the evidence (and in the snapshot)
    base: Ewma = field(default_factory=Ewma)
    recent: Ewma = field(default_factory=Ewma)  # short half-life: the peak an episode reports
    cusum: list[float] = field(default_factory=list)
    run: list[list[float]] = field(default_factory=list)  # per CUSUM: [start epoch, negatives, news] since > 0
    clear: float = 0.0
    fired_lift: float = 0.0
    dispersion: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # Σ r², steps (age-weighted), at
    firing: bool = False
    starts_at: datetime | None = None
    onset: float | None = None
    episode: list[float] = field(default_factory=lambda: [0.0, 0.0])  # negatives, news since the onset
    peak: list[float] = field(default_factory=lambda: [0.0, 0.0])  # share, lift
    last_sent: datetime | None = None
    repeats: int = 0
    annotations: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    pending: list[list[float]] = field(default_factory=list)  # [end, negatives, news] of steps not learned yet
    extra: dict[str, str] = field(default_factory=dict)  # annotations found once per episode (headlines, link)
    burst: list[float] = field(default_factory=list)  # the Poisson CUSUMs on the negatives, one per burst lift
    # per burst: [start, negatives, news, usual news, counted negatives, counted news]: what the burst judged
    # (stories where known) and what the rule counts (the episode's figures; the same when it counts stories)
    burst_run: list[list[float]] = field(default_factory=list)
    season: list[list[float]] = field(default_factory=list)  # per hour of the day: [news, steps, at] (age-weighted)
    level: list[float] = field(default_factory=list)  # [news, news the profile expected, at] over the last hours
    usual: float = 0.0  # the news the scope usually gets over the episode so far (seasonal)
    judged: float = 0.0  # end (epoch s) of the last step with news that was judged
    trigger: str = ""  # what fired the episode: "share" (the share CUSUMs) or "burst" (the negatives' count)

    def to_json(self) -> dict[str, Any]:
        skip = ("base", "recent", "starts_at", "last_sent", "scope")
        data = {k: v for k, v in self.__dict__.items() if k not in skip}
        return {
            **data,
            "base": [self.base.neg, self.base.tot, self.base.at],
            "recent": [self.recent.neg, self.recent.tot, self.recent.at],
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "last_sent": self.last_sent.isoformat() if self.last_sent else None,
            "scope": [self.scope.kind, self.scope.value],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        values = dict(data)
        for key in ("starts_at", "last_sent"):
            values[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        values["base"], values["recent"] = Ewma(*data["base"]), Ewma(*data["recent"])
        scope = data.get("scope")  # older snapshots kept the labels alone
        values["scope"] = ScopeKey(*scope) if scope else scope_of(data["labels"])
        values["run"] = [[*run, 0.0][:4] if len(run) < 4 else run for run in data.get("run", [])]  # older states
        values["burst_run"] = [run if len(run) >= 6 else [*run, *run[1:3]] for run in data.get("burst_run", [])]
        return cls(**values)


def alert_labels(rule: Rule, scope: ScopeKey) -> dict[str, str]:
    """Labels identify an alert: which rule, which scope; extra labels from the rule (never one of these:
    alerts/rules.py refuses RESERVED_LABELS in a rule's labels)."""
    labels = {"alertname": ALERT_NAME, "rule": rule.name, "scope": scope.kind, "severity": rule.severity}
    if scope.kind != "all":
        labels[scope.kind] = scope.value
    return {**labels, **rule.labels}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def duration_text(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    return (f"{days}d " if days else "") + f"{rest // 60}h {rest % 60:02d}m"


class Detector:
    """Feeds each step's counts into per-fingerprint state and returns the alert events they cause."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._rules = {rule.name: rule for rule in rules.rules}
        self.states: dict[str, AlertState] = {}
        self.parents: dict[str, Ewma] = {}  # per rule: the all-news baseline its scopes shrink towards
        self.step_s = rules.step.total_seconds()

    def step(self, observations: Iterable[Observation], parent: tuple[int, int], at: datetime) -> list[AlertEvent]:
        """Judge one step ending at `at`: `observations` are the scopes' counts in the step, `parent` (negatives,
        news) of all news in it. Returns the firing/resolved/repeat events."""
        end = at.timestamp()
        priors = {name: self._prior(rule) for name, rule in self._rules.items()}
        events: list[AlertEvent] = []
        seen: set[str] = set()
        for obs in observations:
            rule = self._rules[obs.rule]
            labels = alert_labels(rule, obs.scope)
            fp = fingerprint(labels)
            seen.add(fp)
            state = self.states.get(fp) or self.states.setdefault(fp, self._new(rule, obs.scope, labels, end))
            events += self._judge(state, rule, obs.negatives, obs.volume, priors[obs.rule], at, obs.stories())
        events += self._idle(seen, at)
        self._add_parent(parent, end)
        self._prune(end)
        return events

    def learn(self, observations: Iterable[Observation], parent: tuple[int, int], at: datetime) -> None:
        """Add a period's counts to the baselines only (a fresh evaluator's warm-up): no evidence, no alerts."""
        end = at.timestamp()
        for obs in observations:
            rule = self._rules[obs.rule]
            labels = alert_labels(rule, obs.scope)
            state = self.states.setdefault(
                fingerprint(labels), self._new(rule, obs.scope, labels, obs.start.timestamp() + self.step_s)
            )
            state.first = min(state.first, obs.start.timestamp())
            state.base = state.base.add(obs.negatives, obs.volume, end, rule.baseline.half_life.total_seconds())
            steps = max((obs.end - obs.start).total_seconds() / self.step_s, 1.0)
            self._season_add(state, rule, obs.start.timestamp(), obs.volume, steps)
        self._add_parent(parent, end)

    def _add_parent(self, parent: tuple[int, int], end: float) -> None:
        for name, rule in self._rules.items():
            half_life = rule.baseline.half_life.total_seconds()
            self.parents[name] = self.parents.get(name, Ewma()).add(*parent, end, half_life)

    def _new(self, rule: Rule, scope: ScopeKey, labels: dict[str, str], end: float) -> AlertState:
        k = len(rule.lifts)
        return AlertState(
            labels=labels,
            first=end - self.step_s,
            scope=scope,
            cusum=[0.0] * k,
            run=[[0.0, 0.0, 0.0, 0.0] for _ in range(k)],
        )

    def _prior(self, rule: Rule) -> float | None:
        parent = self.parents.get(rule.name)
        return parent.share() if parent is not None else None

    def baseline(self, state: AlertState, rule: Rule, prior: float | None, end: float) -> float | None:
        """The share the scope is judged against at `end`, or None while it is too new to judge."""
        if end - state.first < rule.baseline.min_history.total_seconds():
            return None
        own = state.base.decayed(end, rule.baseline.half_life.total_seconds())
        if prior is None:
            prior, weight = (own.share() or 0.0), 0.0
        else:
            weight = rule.baseline.prior_weight
        if own.tot + weight <= 0:
            return None
        return shrunk_share(own, prior, weight, rule.baseline.uncertainty)

    def central(self, state: AlertState, rule: Rule, prior: float | None, end: float, p0: float) -> float:
        """The scope's share as its own history says, shrunk towards all news' share with BURST_PRIOR_WEIGHT
        news and no uncertainty added (what the bursts' share test asks about; the baseline p0 stays cautious):
        a quiet ticker's baseline leans on all news' share, its central share on its own news."""
        own = state.base.decayed(end, rule.baseline.half_life.total_seconds())
        if own.tot <= 0:
            return p0
        if prior is None:
            return shrunk_share(own, p0, 0.0, 0.0)
        return shrunk_share(own, prior, BURST_PRIOR_WEIGHT, 0.0)

    def rate(self, state: AlertState, rule: Rule, end: float) -> float:
        """The scope's news per second over its baseline's span (or its age, while younger)."""
        half_life = rule.baseline.half_life.total_seconds()
        span = min(half_life / math.log(2.0), max(end - state.first, self.step_s))
        return state.base.decayed(end, half_life).tot / span

    def threshold(self, state: AlertState, rule: Rule, end: float) -> float:
        return threshold(
            self.rate(state, rule, end), self.step_s, len(rule.lifts), self._share_rate(rule), calibration(rule)
        )

    @staticmethod
    def _share_rate(rule: Rule) -> float:
        """The false alarms a week the share CUSUMs may spend (all of them without burst CUSUMs)."""
        return rule.false_alarms_per_week * ((1.0 - BURST_BUDGET) if rule.bursts else 1.0)

    def usual_news(self, state: AlertState, rule: Rule, start: float, end: float, mean: float | None = None) -> float:
        """The news the scope usually gets in the step from `start` (seen at `end`): its hour-of-day profile,
        shrunk towards its all-day mean with the weight of SEASON_PRIOR steps (a quiet scope's hours are noisy),
        times its level over the last hours against that profile (weekends, holidays, a quieter week)."""
        if not state.season:
            return self.rate(state, rule, end) * self.step_s
        return self._profile(state, start, mean) * self._level(state)

    def _profile(self, state: AlertState, start: float, mean: float | None = None) -> float:
        news, steps, _ = state.season[int(start // 3600) % HOURS]
        mean = self._mean_news(state) if mean is None else mean
        return (news + SEASON_PRIOR * mean) / (steps + SEASON_PRIOR)

    @staticmethod
    def _level(state: AlertState) -> float:
        """The scope's news over the last hours against what its profile expected, LEVEL_PRIOR news added to both."""
        actual, expected, _ = state.level or [0.0, 0.0, 0.0]
        return min(max((actual + LEVEL_PRIOR) / (expected + LEVEL_PRIOR), 1.0 / LEVEL_CAP), LEVEL_CAP)

    def _level_add(self, state: AlertState, start: float, actual: float, expected: float) -> None:
        old_actual, old_expected, at = state.level or [0.0, 0.0, start]
        factor = 0.5 ** (max(start - at, 0.0) / LEVEL_HALF_LIFE_S)
        state.level = [old_actual * factor + actual, old_expected * factor + expected, max(start, at)]

    @staticmethod
    def _mean_news(state: AlertState) -> float:
        steps = sum(cell[1] for cell in state.season)
        return sum(cell[0] for cell in state.season) / steps if steps > 0 else 0.0

    def _season_add(self, state: AlertState, rule: Rule, start: float, news: float, steps: float) -> None:
        """Add `steps` steps holding `news` news to the profile hour of `start`; every hour's counts age with the
        baseline's half-life, so the profile follows the scope's volume as it changes."""
        if not state.season:
            state.season = [[0.0, 0.0, start] for _ in range(HOURS)]
        cell = state.season[int(start // 3600) % HOURS]
        factor = 0.5 ** (max(start - cell[2], 0.0) / rule.baseline.half_life.total_seconds())
        cell[:] = [cell[0] * factor + news, cell[1] * factor + steps, max(start, cell[2])]

    def _season(self, state: AlertState, rule: Rule, n: int, end: float, gap: int) -> None:
        """Every step joins the profile when it is judged, the steps without news since the last one included;
        a step's news count at most SEASON_CAP times their usual (a burst must not become the usual volume)."""
        for i in reversed(range(min(gap, MAX_GAP_STEPS))):
            start = end - (i + 2) * self.step_s
            if state.season:
                self._level_add(state, start, 0.0, self._profile(state, start))
            self._season_add(state, rule, start, 0.0, 1.0)
        start = end - self.step_s
        usual = self._profile(state, start) if state.season else float(n)
        capped = min(n, SEASON_CAP * max(usual * self._level(state), 1.0))
        self._level_add(state, start, capped, usual)
        self._season_add(state, rule, start, capped, 1.0)

    def watched(self, state: AlertState, rule: Rule, p0: float, end: float) -> list[bool]:
        """Per lift: whether the scope's volume can show it. A lift is watched when WATCH_WINDOW_S of the scope's
        usual news at that lift would gather the threshold; the others' CUSUMs stay at 0 and the threshold
        counts only the watched ones (a quiet scope spends its false alarms on the lifts it can show). The
        highest lift is always watched."""
        news = self.rate(state, rule, end) * WATCH_WINDOW_S
        h = self.threshold(state, rule, end)
        low, top = min(rule.lifts), max(rule.lifts)
        return [
            lift == top or news * evidence_per_news(p0, lift * rule.min_lift, INDIFFERENCE if lift == low else 1.0) >= h
            for lift in rule.lifts
        ]

    def _learn(self, state: AlertState, rule: Rule, neg: int, n: int, end: float) -> None:
        """Add a step to the baseline, at most VOLUME_CAP times the scope's usual news per step (a burst of
        neutral news must not halve the baseline share, a surge must not become its own baseline), and at a
        lower weight while the scope's alert fires."""
        usual = self.rate(state, rule, end) * self.step_s
        weight = FIRING_WEIGHT if state.firing else 1.0
        if n > VOLUME_CAP * max(usual, 1.0) and end - state.first >= rule.baseline.min_history.total_seconds():
            weight *= VOLUME_CAP * max(usual, 1.0) / n
        state.base = state.base.add(neg, n, end, rule.baseline.half_life.total_seconds(), weight)

    def _judge(
        self,
        state: AlertState,
        rule: Rule,
        neg: int,
        n: int,
        prior: float | None,
        now: datetime,
        stories: tuple[int, int] | None = None,
    ) -> list[AlertEvent]:
        end = now.timestamp()
        p0 = self.baseline(state, rule, prior, end)
        events: list[AlertEvent] = []
        gap = round((end - state.judged) / self.step_s) - 1 if state.judged and n > 0 else 0
        if p0 is not None and n > 0:
            watched = self.watched(state, rule, p0, end)
            h = threshold(
                self.rate(state, rule, end), self.step_s, sum(watched), self._share_rate(rule), calibration(rule)
            )
            hb = self.burst_threshold(state, rule, p0, end)
            self._accumulate(state, rule, neg, n, p0, h, end, watched)
            by_story = stories is not None or rule.count == "stories"
            burst_neg, burst_n = stories or (neg, n)
            self._bursts(state, rule, (burst_neg, burst_n), (neg, n), p0, hb, end, gap, 1.0 if by_story else STEP_CAP)
            gate = Gate(self.central(state, rule, prior, end, p0), _min_negatives(by_story))
            events = self._transition(state, rule, p0, h, hb, now, gate)
        elif state.firing:
            events = self._repeat(state, rule, now)
        if n > 0:
            self._season(state, rule, n, end, gap)
            state.judged = end
        self._quarantine(state, rule, neg, n, prior, end)
        return events

    def _quarantine(self, state: AlertState, rule: Rule, neg: int, n: int, prior: float | None, end: float) -> None:
        """A step joins the baseline (and the overdispersion estimate) only QUARANTINE_S after it was judged,
        and not at all when an alert fires in between: the onset of a surge must not raise its own baseline."""
        if state.firing:
            state.pending = []
            return
        state.pending.append([end, neg, n])
        while state.pending and end - state.pending[0][0] >= QUARANTINE_S:
            at, old_neg, old_n = state.pending.pop(0)
            p0 = self.baseline(state, rule, prior, end)
            if p0 is not None and old_n > 0:
                self._disperse(state, rule, int(old_neg), int(old_n), p0, at)
            self._learn(state, rule, int(old_neg), int(old_n), at)

    def _disperse(self, state: AlertState, rule: Rule, neg: int, n: int, p0: float, end: float) -> None:
        """Track how much more the step counts vary than binomial news would (syndicated copies, clumps)."""
        r2 = min((neg - n * p0) ** 2 / (n * p0 * (1.0 - p0)), RESIDUAL_CAP)  # a surge must not pass for noise
        total, steps, at = state.dispersion
        factor = 0.5 ** ((end - at) / rule.baseline.half_life.total_seconds()) if at else 1.0
        state.dispersion = [total * factor + r2, steps * factor + 1.0, end]

    def overdispersion(self, state: AlertState) -> float:
        """φ ≥ 1: the variance of a scope's step counts over the binomial's; evidence is divided by it."""
        total, steps, _ = state.dispersion
        return max(1.0, (total + DISPERSION_PRIOR) / (steps + DISPERSION_PRIOR))

    def _accumulate(
        self, state: AlertState, rule: Rule, neg: int, n: int, p0: float, h: float, end: float, watched: list[bool]
    ) -> None:
        state.recent = state.recent.add(neg, n, end, PEAK_HALF_LIFE_S)
        # Evidence is divided by the overdispersion, and a step of more than VOLUME_CAP times the usual news
        # (a burst of copies, a flood of neutral news) weighs as VOLUME_CAP times the usual.
        usual = max(self.rate(state, rule, end) * self.step_s, 1.0)
        scale = min(1.0, VOLUME_CAP * usual / n) / self.overdispersion(state)
        if state.firing:
            terms = llr_terms(p0, state.fired_lift, INDIFFERENCE)
            if terms is not None:
                back = -(neg * terms[0] + (n - neg) * terms[1]) * min(1.0, usual / n) / self.overdispersion(state)
                # A step adds at most its share of two hours of the scope's usual news (a quiet scope's lone
                # news item weighs as the hours it stands for; a busy scope's lucky step cannot resolve alone).
                usual_n = min(1.0, max(self.rate(state, rule, end) * self.step_s, 1.0 / CLEAR_STEPS))
                cap = math.log(rule.resolve_odds) / CLEAR_STEPS / usual_n
                state.clear = max(0.0, state.clear + min(back, cap))
        for k, lift in enumerate(rule.lifts):
            terms = llr_terms(p0, lift * rule.min_lift, INDIFFERENCE if lift == min(rule.lifts) else 1.0)
            if terms is None:
                continue
            if not watched[k]:
                state.cusum[k], state.run[k] = 0.0, [0.0, 0.0, 0.0, 0.0]
                continue
            x = (neg * terms[0] + (n - neg) * terms[1]) * scale
            before = state.cusum[k]
            state.cusum[k] = min(max(0.0, before + min(x, STEP_CAP * h)), h)
            if state.cusum[k] <= 0.0:
                state.run[k] = [0.0, 0.0, 0.0, 0.0]
                continue
            start, run = (state.run[k][0], state.run[k]) if before > 0.0 else (end - self.step_s, [0.0] * 4)
            state.run[k] = [
                start,
                run[1] + neg,
                run[2] + n,
                run[3] + self.usual_news(state, rule, end - self.step_s, end),
            ]
        if state.firing:
            state.episode = [state.episode[0] + neg, state.episode[1] + n]
            state.usual += self.usual_news(state, rule, end - self.step_s, end)
            share = state.recent.share()
            if share is not None and state.recent.tot >= PEAK_MIN_NEWS and share > state.peak[0]:
                state.peak = [share, share / p0]

    def burst_threshold(self, state: AlertState, rule: Rule, p0: float, end: float) -> float:
        return burst_threshold(
            self.rate(state, rule, end) * p0, self.step_s, len(rule.bursts), rule.false_alarms_per_week
        )

    def _bursts(
        self,
        state: AlertState,
        rule: Rule,
        judged: tuple[int, int],
        items: tuple[int, int],
        p0: float,
        hb: float,
        end: float,
        gap: int,
        cap: float,
    ) -> None:
        """The burst CUSUMs: this step's negatives against the usual negatives at each burst lift, after the
        steps without news since the last judged one drained them (divided by the overdispersion). A step adds at
        most `cap` of the threshold: counting stories, one step of many negative stories may fire alone; counting
        items, a clump of copies may not. Each run keeps the news the profile expects at this hour, not raised
        by a busy last hour (the volume test: a burst right after a flood of neutral news is still a burst)."""
        neg, n = judged
        if len(state.burst) != len(rule.bursts):
            state.burst, state.burst_run = [0.0] * len(rule.bursts), [[0.0] * 6 for _ in rule.bursts]
        starts = (end - (i + 2) * self.step_s for i in range(min(gap, MAX_GAP_STEPS)))
        mean = self._mean_news(state)
        idle = sum(self.usual_news(state, rule, start, end, mean) for start in starts)
        usual = self.usual_news(state, rule, end - self.step_s, end, mean)
        hour = self._profile(state, end - self.step_s, mean) * min(self._level(state), 1.0) if state.season else usual
        phi = self.overdispersion(state)
        for j, lift in enumerate(rule.bursts):
            before = 0.0 if gap > MAX_GAP_STEPS else max(0.0, state.burst[j] - (lift - 1.0) * idle * p0 / phi)
            x = burst_increment(neg, usual * p0, lift) / phi
            state.burst[j] = min(max(0.0, before + min(x, cap * hb)), hb)
            if state.burst[j] <= 0.0:
                state.burst_run[j] = [0.0] * 6
                continue
            run = state.burst_run[j] if before > 0.0 else [end - self.step_s, 0.0, 0.0, 0.0, 0.0, 0.0]
            state.burst_run[j] = [run[0], run[1] + neg, run[2] + n, run[3] + hour, run[4] + items[0], run[5] + items[1]]

    def _transition(
        self, state: AlertState, rule: Rule, p0: float, h: float, hb: float, now: datetime, gate: Gate
    ) -> list[AlertEvent]:
        if not state.firing:
            fired = [(run, "share") for k, run in enumerate(state.run) if state.cusum[k] >= h]
            seasoned = now.timestamp() - state.first >= BURST_HISTORY_S
            fired += [
                ([run[0], run[4], run[5], run[3]], "burst")  # the episode counts as the rule counts
                for s, run in zip(state.burst, state.burst_run, strict=True)
                if seasoned
                and s >= hb
                and share_raised(run[1], run[2], gate.share, max(rule.min_lift, BURST_SHARE_LIFT), gate.negatives)
                and volume_raised(run[2], run[3])
            ]
            return [self._fire(state, rule, *min(fired), p0, h, now)] if fired else []
        self._annotate(state, rule, p0, h, now)
        lasted = (now - state.starts_at).total_seconds() if state.starts_at else 0.0
        if state.clear >= math.log(rule.resolve_odds) and lasted >= CLEAR_MIN_S:
            return [self._resolve(state, now)]
        return self._repeat(state, rule, now)

    def _repeat(self, state: AlertState, rule: Rule, now: datetime) -> list[AlertEvent]:
        if state.last_sent and now - state.last_sent >= rule.repeat_interval:
            state.repeats += 1
            state.last_sent = now
            return [self._event(state, "firing", now)]
        return []

    def _fire(
        self, state: AlertState, rule: Rule, run: list[float], trigger: str, p0: float, h: float, now: datetime
    ) -> AlertEvent:
        """Fire on the run (since its CUSUM left 0) that started first among those at their threshold; `trigger`
        says which test fired: the share CUSUMs or a burst of negatives."""
        start, neg, n, usual = run
        state.firing, state.starts_at, state.last_sent, state.repeats, state.clear = True, now, now, 0, 0.0
        share = neg / n if n else 0.0
        # Resolution weighs "back within the indifference zone" against "still at the lift this episode
        # showed" (at least min_lift): a share that stays up does not resolve and re-fire around min_lift.
        state.onset, state.episode, state.usual, state.trigger = start, [neg, n], usual, trigger
        state.fired_lift = max(min(rule.lifts) * rule.min_lift, share / p0)
        state.peak = [share, share / p0]
        self._annotate(state, rule, p0, h, now)
        return self._event(state, "firing", now)

    def _annotate(self, state: AlertState, rule: Rule, p0: float, h: float, now: datetime) -> None:
        annotations, state.values = describe(state, p0, h, now)
        state.annotations = {**annotations, **state.extra}

    def _resolve(self, state: AlertState, now: datetime) -> AlertEvent:
        assert state.starts_at is not None
        lasted = duration_text(now - state.starts_at)
        peak = f"peak {state.peak[0]:.0%} ({state.peak[1]:.1f}x)"
        state.annotations = {
            **state.annotations,
            "summary": f"Resolved after {lasted} ({peak}): " + state.annotations.get("summary", ""),
            "duration": lasted,
        }
        state.values = {**state.values, "duration_s": (now - state.starts_at).total_seconds()}
        event = self._event(state, "resolved", now, ends_at=now)
        state.firing, state.clear, state.repeats, state.last_sent, state.onset = False, 0.0, 0, None, None
        state.cusum = [0.0] * len(state.cusum)
        state.run = [[0.0, 0.0, 0.0, 0.0] for _ in state.cusum]
        state.burst = [0.0] * len(state.burst)
        state.burst_run = [[0.0] * 6 for _ in state.burst]
        state.evidence, state.extra = [], {}
        return event

    def _idle(self, seen: set[str], now: datetime) -> list[AlertEvent]:
        """Scopes without news this step: firing alerts still repeat; removed rules resolve theirs."""
        events: list[AlertEvent] = []
        for fp in sorted(set(self.states) - seen):
            state = self.states[fp]
            rule = self._rules.get(state.labels["rule"])
            if rule is None:
                events += [self._resolve(state, now)] if state.firing else []
                del self.states[fp]
            elif state.firing:
                events += self._repeat(state, rule, now)
        return events

    def attach_evidence(self, fp: str, evidence: list[dict[str, Any]], annotations: dict[str, str]) -> None:
        """Headlines (and links) found for a new firing alert: kept for its repeats and its resolution."""
        if fp in self.states:
            self.states[fp].evidence = evidence
            self.states[fp].extra = {k: v for k, v in annotations.items() if k in ("headlines", "kibana_url")}

    def firing(self) -> list[AlertEvent]:
        """The alerts firing now (as firing events carrying their latest annotations)."""
        events = []
        for state in self.states.values():
            if state.firing:
                assert state.starts_at is not None  # set when it fired (and kept in the snapshot)
                events.append(self._event(state, "firing", state.last_sent or state.starts_at))
        return events

    def _event(self, state: AlertState, status: Status, now: datetime, ends_at: datetime | None = None) -> AlertEvent:
        assert state.starts_at is not None
        return AlertEvent(
            status=status,
            labels=dict(state.labels),
            annotations=dict(state.annotations),
            starts_at=state.starts_at,
            ends_at=ends_at,
            at=now,
            values=dict(state.values),
            repeat=state.repeats if status == "firing" else 0,
            evidence=tuple(state.evidence),
            scope=state.scope,
            onset=_at(state.onset) if state.onset is not None else None,
        )

    def _prune(self, end: float) -> None:
        """Forget scopes unseen for 8 half-lives (their baseline weighs under 0.4%) that are not firing."""
        for fp, s in list(self.states.items()):
            rule = self._rules[s.labels["rule"]]
            if not s.firing and s.base.at is not None and end - s.base.at > 8 * rule.baseline.half_life.total_seconds():
                del self.states[fp]

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state (CUSUMs, baselines, episodes), so a restart neither re-fires nor forgets."""
        states = {fp: state.to_json() for fp, state in sorted(self.states.items())}
        parents = {name: [e.neg, e.tot, e.at] for name, e in sorted(self.parents.items())}
        return {"states": states, "parents": parents}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.states = {fp: AlertState.from_json(data) for fp, data in snapshot.get("states", {}).items()}
        self.parents = {name: Ewma(*values) for name, values in snapshot.get("parents", {}).items()}


def calibration(rule: Rule) -> float:
    """Nats off the share CUSUMs' Wald bound for the rule's way of counting (alerts/cusum.py)."""
    return CALIBRATION if rule.count == "stories" else ITEMS_CALIBRATION


def _min_negatives(by_story: bool) -> int:
    """The negatives a burst needs: more than one syndicated story and its copies make, counted as stories
    (5), or as items (10: a quiet scope cannot tell one story's five copies from five negative news)."""
    return MIN_BURST_NEGATIVES if by_story else 2 * MIN_BURST_NEGATIVES


def describe(state: AlertState, p0: float, h: float, now: datetime) -> tuple[dict[str, str], dict[str, float]]:
    """Annotations and values of a firing alert, built from the episode's counts since its onset: the news
    against the scope's usual news over as long, the negative share against the baseline."""
    neg, n = int(state.episode[0]), int(state.episode[1])
    share = neg / n if n else 0.0
    lift = share / p0
    p = binomial_sf(neg, n, p0)
    onset = iso(_at(state.onset)) if state.onset is not None else iso(now)
    minutes = round((now.timestamp() - state.onset) / 60) if state.onset is not None else 0
    usual = state.usual
    where_ = state.scope.describe()
    burst = f"{n} news in {minutes} min (usual {usual:.0f}), {share:.0%} negative (baseline {p0:.0%})"
    annotations = {
        "summary": f"Negative news up in {where_}: {burst}",
        "description": (
            f"{neg} of {n} news negative since {onset} ({lift:.1f}x the baseline share, {n / max(usual, 0.5):.1f}x "
            f"the usual news); binomial p={p:.2g} against the baseline share; "
            f"peak {state.peak[0]:.0%} ({state.peak[1]:.1f}x)"
        ),
        "negative_share": f"{share:.4f}",
        "baseline_share": f"{p0:.4f}",
        "lift": f"{lift:.2f}",
        "volume": str(n),
        "usual_volume": f"{usual:.1f}",
        "minutes": str(minutes),
        "negatives": str(neg),
        "p_value": f"{p:.3g}",
        "threshold": f"{h:.2f}",
        "onset": onset,
        "trigger": state.trigger,
        "peak_share": f"{state.peak[0]:.4f}",
        "peak_lift": f"{state.peak[1]:.2f}",
    }
    values = {
        "negative_share": round(share, 4),
        "baseline_share": round(p0, 4),
        "volume": n,
        "usual_volume": round(usual, 2),
        "minutes": minutes,
        "negatives": neg,
        "lift": round(lift, 3),
        "p_value": float(f"{p:.3g}"),
        "peak_share": round(state.peak[0], 4),
        "peak_lift": round(state.peak[1], 3),
    }
    return annotations, values
