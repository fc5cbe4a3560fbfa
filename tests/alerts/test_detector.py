"""The detector's state machine, driven by hand-made assessments on a clock the tests advance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.backtest import ManualClock
from alerts.detector import Detector
from alerts.model import Assessment, Observation
from alerts.rules import Rules, parse_rules

STEP = timedelta(minutes=5)
TOPIC = ("topic", "earnings")


@pytest.fixture
def rules() -> Rules:
    return parse_rules(
        {
            "step": "5m",
            "rules": [
                {
                    "name": "topic",
                    "scope": {"kind": "topic"},
                    "fire": {"n": 2, "m": 3},
                    "repeat_interval": "1h",
                    "resolve": {"clear_windows": 3},
                }
            ],
        }
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 1, 2, 9, 0, tzinfo=UTC))


def assessment(share: float, *, breach: bool, elevated: bool | None = None, p: float | None = None) -> Assessment:
    """A verdict; a breach has p=1e-4 unless told (significant, but not overwhelming: n of m applies)."""
    return Assessment(
        negatives=int(share * 100),
        volume=100,
        share=share,
        baseline_share=0.2,
        baseline_volume=2000,
        lift=share / 0.2,
        p_value=p if p is not None else (1e-4 if breach else 0.5),
        z=5.0 if breach else 0.0,
        breach=breach,
        elevated=breach if elevated is None else elevated,
    )


def step(detector: Detector, clock: ManualClock, a: Assessment | None, scope: tuple[str, str] = TOPIC) -> list:
    clock.advance(STEP)
    obs = Observation("topic", scope, clock.now - timedelta(minutes=30), clock.now, a)
    return detector.step([obs])


def test_fires_on_n_of_m_breaches_and_not_on_a_single_one(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    assert step(detector, clock, assessment(0.5, breach=True)) == []
    assert step(detector, clock, assessment(0.2, breach=False)) == []
    events = step(detector, clock, assessment(0.5, breach=True))
    assert [e.status for e in events] == ["firing"]
    event = events[0]
    assert event.starts_at == clock.now and event.ends_at is None
    assert event.labels == {
        "alertname": "NegativeNewsSpike",
        "rule": "topic",
        "scope": "topic",
        "severity": "warning",
        "topic": "earnings",
    }
    assert event.annotations["negative_share"] == "0.5000" and event.annotations["baseline_share"] == "0.2000"
    assert event.annotations["volume"] == "100" and "p_value" in event.annotations


def test_overwhelming_evidence_fires_at_once_and_only_on_a_breach(rules: Rules, clock: ManualClock) -> None:
    assert rules.rules[0].fire.immediate_p_value == 3e-5  # the default
    detector = Detector(rules, clock)
    # a tiny p-value over a thin window is not a breach (under min_volume): no judgement, no alert
    assert step(detector, clock, assessment(0.6, breach=False, p=1e-9)) == []
    events = step(detector, clock, assessment(0.6, breach=True, p=1e-6))
    assert [e.status for e in events] == ["firing"] and events[0].starts_at == clock.now
    assert step(detector, clock, assessment(0.6, breach=True, p=1e-6)) == []  # still one firing per episode


def test_immediate_firing_can_be_turned_off(clock: ManualClock) -> None:
    rule = {"name": "topic", "scope": {"kind": "topic"}, "fire": {"immediate_p_value": None}}
    strict = parse_rules({"rules": [rule]})
    detector = Detector(strict, clock)
    assert step(detector, clock, assessment(0.9, breach=True, p=1e-12)) == []
    assert [e.status for e in step(detector, clock, assessment(0.9, breach=True, p=1e-12))] == ["firing"]


def test_isolated_breaches_never_fire(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    emitted = []
    for i in range(30):
        emitted += step(detector, clock, assessment(0.5 if i % 3 == 0 else 0.2, breach=i % 3 == 0))
    assert emitted == []


def test_one_firing_per_episode_then_resolved_after_clear_windows(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    events = []
    for _ in range(6):
        events += step(detector, clock, assessment(0.5, breach=True))
    events += step(detector, clock, assessment(0.3, breach=False, elevated=True))  # still elevated: not clear
    for _ in range(2):
        events += step(detector, clock, assessment(0.2, breach=False))
    assert [e.status for e in events] == ["firing"]
    events += step(detector, clock, assessment(0.2, breach=False))
    assert [e.status for e in events] == ["firing", "resolved"]
    resolved = events[-1]
    assert resolved.ends_at == clock.now and resolved.starts_at == events[0].starts_at
    assert resolved.annotations["summary"].startswith("Resolved:")
    assert detector.firing() == []


def test_repeats_after_repeat_interval_while_firing(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    events = []
    for _ in range(2 + 12 + 1):  # fire, then one hour (12 steps) more
        events += step(detector, clock, assessment(0.5, breach=True))
    assert [(e.status, e.repeat) for e in events] == [("firing", 0), ("firing", 1)]
    assert events[1].starts_at == events[0].starts_at
    assert events[1].key != events[0].key


def test_scope_without_data_resolves(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    for _ in range(2):
        step(detector, clock, assessment(0.5, breach=True))
    events = []
    for _ in range(3):
        clock.advance(STEP)
        events += detector.step([])
    assert [e.status for e in events] == ["resolved"]


def test_scopes_are_independent_alerts(rules: Rules, clock: ManualClock) -> None:
    detector = Detector(rules, clock)
    clock.advance(STEP)
    for _ in range(2):
        clock.advance(STEP)
        events = detector.step(
            [
                Observation("topic", TOPIC, clock.now - timedelta(minutes=30), clock.now, assessment(0.5, breach=True)),
                Observation("topic", ("topic", "macro"), clock.now - timedelta(minutes=30), clock.now, None),
            ]
        )
    assert [e.labels["topic"] for e in events] == ["earnings"]
    assert [a.labels["topic"] for a in detector.firing()] == ["earnings"]


def test_snapshot_restore_neither_refires_nor_forgets(rules: Rules, clock: ManualClock) -> None:
    first = Detector(rules, clock)
    fired = []
    for _ in range(2):
        fired += step(first, clock, assessment(0.5, breach=True))
    assert len(fired) == 1
    restarted = Detector(rules, clock)
    restarted.restore(first.snapshot())
    assert [a.fingerprint for a in restarted.firing()] == [fired[0].fingerprint]
    assert step(restarted, clock, assessment(0.5, breach=True)) == []
    events = []
    for _ in range(3):
        events += step(restarted, clock, assessment(0.2, breach=False))
    assert [(e.status, e.starts_at) for e in events] == [("resolved", fired[0].starts_at)]


def test_removed_rule_resolves_what_it_left_firing(rules: Rules, clock: ManualClock) -> None:
    first = Detector(rules, clock)
    for _ in range(2):
        step(first, clock, assessment(0.5, breach=True))
    other = parse_rules({"rules": [{"name": "other"}]})
    changed = Detector(other, clock)
    changed.restore(first.snapshot())
    clock.advance(STEP)
    assert [e.status for e in changed.step([])] == ["resolved"]
