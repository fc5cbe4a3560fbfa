"""The spike detector: per-alert state machine (N-of-M or overwhelming evidence to fire, repeat interval,
consecutive clear windows to resolve). Pure: no I/O; time comes from the injected clock or the evaluated window's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.model import ALERT_NAME, AlertEvent, Assessment, Observation, Status, fingerprint, iso
from alerts.rules import Rule, Rules

Clock = Callable[[], datetime]


@dataclass
class AlertState:
    """What the detector remembers about one alert (one fingerprint) between evaluations."""

    labels: dict[str, str]
    history: list[bool] = field(default_factory=list)  # breaches of the last m evaluations, oldest first
    firing: bool = False
    starts_at: datetime | None = None
    last_sent: datetime | None = None
    repeats: int = 0
    clear: int = 0
    annotations: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "history": self.history,
            "firing": self.firing,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "last_sent": self.last_sent.isoformat() if self.last_sent else None,
            "repeats": self.repeats,
            "clear": self.clear,
            "annotations": self.annotations,
            "values": self.values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        return cls(
            labels=dict(data["labels"]),
            history=[bool(b) for b in data.get("history", [])],
            firing=bool(data.get("firing")),
            starts_at=moment("starts_at"),
            last_sent=moment("last_sent"),
            repeats=int(data.get("repeats", 0)),
            clear=int(data.get("clear", 0)),
            annotations=dict(data.get("annotations", {})),
            values=dict(data.get("values", {})),
        )


def alert_labels(rule: Rule, scope: tuple[str, str]) -> dict[str, str]:
    """Labels identify an alert: which rule, which scope; extra labels from the rule."""
    kind, value = scope
    labels = {"alertname": ALERT_NAME, "rule": rule.name, "scope": kind, "severity": rule.severity}
    if kind != "all":
        labels[kind] = value
    return {**labels, **rule.labels}


def _where(labels: dict[str, str]) -> str:
    kind = labels["scope"]
    return "all news" if kind == "all" else f"{kind} {labels[kind]}"


def describe(obs: Observation, labels: dict[str, str], test: str) -> dict[str, str]:
    """Annotations describe an alert: the observed share, the baseline, the volume and the test statistic."""
    a = obs.assessment
    if a is None:
        return {"summary": f"Not enough news to judge {_where(labels)}", "window_end": iso(obs.window_end)}
    return {
        "summary": (
            f"Negative news {a.share:.0%} vs baseline {a.baseline_share:.0%} ({a.lift:.1f}x) in {_where(labels)}"
        ),
        "description": (
            f"{a.negatives} of {a.volume} news negative in the window {iso(obs.window_start)} to "
            f"{iso(obs.window_end)}; {test} test p={a.p_value:.2g}, z={a.z:.1f}; baseline over "
            f"{a.baseline_volume} news"
        ),
        "negative_share": f"{a.share:.4f}",
        "baseline_share": f"{a.baseline_share:.4f}",
        "lift": f"{a.lift:.2f}",
        "volume": str(a.volume),
        "negatives": str(a.negatives),
        "p_value": f"{a.p_value:.3g}",
        "z": f"{a.z:.2f}",
        "window_start": iso(obs.window_start),
        "window_end": iso(obs.window_end),
    }


def _overwhelming(rule: Rule, a: Assessment | None) -> bool:
    """A breach so significant that waiting for n of m would only delay the alert."""
    limit = rule.fire.immediate_p_value
    return a is not None and a.breach and limit is not None and a.p_value < limit


class Detector:
    """Feeds observations into per-fingerprint state and returns the alert events they cause."""

    def __init__(self, rules: Rules, clock: Clock | None = None) -> None:
        self.rules = rules
        self._rules = {rule.name: rule for rule in rules.rules}
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.states: dict[str, AlertState] = {}

    def step(self, observations: Iterable[Observation], at: datetime | None = None) -> list[AlertEvent]:
        """One evaluation at `at` (default: the clock): update every alert, return firing/resolved events."""
        now = at or self.clock()
        events: list[AlertEvent] = []
        seen: set[str] = set()
        for obs in observations:
            rule = self._rules[obs.rule]
            labels = alert_labels(rule, obs.scope)
            fp = fingerprint(labels)
            seen.add(fp)
            state = self.states.setdefault(fp, AlertState(labels=labels))
            events += self._update(state, rule, obs, now)
        for fp in sorted(set(self.states) - seen):  # scopes without data this time are not elevated
            state = self.states[fp]
            known = self._rules.get(state.labels["rule"])
            events += self._update(state, known, None, now) if known else self._retire(state, now)
        self._prune()
        return events

    def firing(self) -> list[AlertEvent]:
        """The alerts firing now (as firing events carrying their latest annotations)."""
        return [
            self._event(s, "firing", s.last_sent or s.starts_at or self.clock())
            for s in self.states.values()
            if s.firing
        ]

    def _update(self, state: AlertState, rule: Rule, obs: Observation | None, now: datetime) -> list[AlertEvent]:
        a: Assessment | None = obs.assessment if obs else None
        state.history = [*state.history, bool(a and a.breach)][-rule.fire.m :]
        if not state.firing:
            if obs is not None and (sum(state.history) >= rule.fire.n or _overwhelming(rule, a)):
                return [self._fire(state, rule, obs, now)]
            return []
        if obs is not None and a is not None:
            self._annotate(state, rule, obs)
        state.clear = 0 if (a and a.elevated) else state.clear + 1
        if state.clear >= rule.resolve.clear_windows:
            return [self._resolve(state, now)]
        if state.last_sent and now - state.last_sent >= rule.repeat_interval:
            state.repeats += 1
            state.last_sent = now
            return [self._event(state, "firing", now)]
        return []

    def _annotate(self, state: AlertState, rule: Rule, obs: Observation) -> None:
        state.annotations = describe(obs, state.labels, rule.test.kind)
        state.values = obs.assessment.values() if obs.assessment else {}

    def _fire(self, state: AlertState, rule: Rule, obs: Observation, now: datetime) -> AlertEvent:
        self._annotate(state, rule, obs)
        state.firing, state.starts_at, state.last_sent, state.repeats, state.clear = True, now, now, 0, 0
        return self._event(state, "firing", now)

    def _resolve(self, state: AlertState, now: datetime) -> AlertEvent:
        state.annotations = {**state.annotations, "summary": "Resolved: " + state.annotations.get("summary", "")}
        event = self._event(state, "resolved", now, ends_at=now)
        state.firing, state.history, state.clear, state.repeats, state.last_sent = False, [], 0, 0, None
        return event

    def _retire(self, state: AlertState, now: datetime) -> list[AlertEvent]:
        """A rule was removed: resolve what it left firing, forget the rest."""
        state.history = []
        return [self._resolve(state, now)] if state.firing else []

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
        )

    def _prune(self) -> None:
        for fp in [fp for fp, s in self.states.items() if not s.firing and not any(s.history)]:
            del self.states[fp]

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state, so a restarted evaluator neither re-fires nor forgets a firing alert."""
        return {fp: state.to_json() for fp, state in sorted(self.states.items())}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.states = {fp: AlertState.from_json(data) for fp, data in snapshot.items()}
