"""The detector on hand-made step counts: evidence adapts to volume, baselines, firing, resolution, restarts."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from alerts.alert import AlertEvent
from alerts.counts import Observation
from alerts.cusum import evidence_per_news, share_raised, threshold, volume_raised
from alerts.detector import AlertState, Detector
from alerts.rules import Rules, parse_rules
from alerts.scopes import ScopeKey
from monitor.times import iso

STEP = timedelta(minutes=5)
START = datetime(2024, 1, 1, tzinfo=UTC)
TOPIC = ScopeKey("topic", "earnings")


def rules(**rule: object) -> Rules:
    return parse_rules({"step": "5m", "rules": [{"name": "topic", "scope": {"kind": "topic"}, **rule}]})


class Feed:
    """Drives a detector step by step with counts of one scope (and the same counts as all news)."""

    def __init__(self, detector: Detector, start: datetime = START) -> None:
        self.detector, self.now = detector, start
        self.rng = random.Random(5)

    def step(self, neg: int, n: int, scope: ScopeKey = TOPIC) -> list[AlertEvent]:
        self.now += STEP
        obs = [Observation("topic", scope, self.now - STEP, self.now, neg, n)] if n else []
        return self.detector.step(obs, (neg, n), at=self.now)

    def normal(self, hours: float, per_step: float, share: float = 0.2) -> list[AlertEvent]:
        """Binomial news at `share` for `hours`; returns the events they caused."""
        events: list[AlertEvent] = []
        for _ in range(int(hours * 12)):
            n = int(per_step) if per_step >= 1 else int(self.rng.random() < per_step)
            events += self.step(sum(self.rng.random() < share for _ in range(n)), n)
        return events

    def surge(self, steps: int, neg: int, n: int) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for _ in range(steps):
            events += self.step(neg, n)
        return events


def test_a_busy_scope_alerts_within_minutes() -> None:
    feed = Feed(Detector(rules()))
    assert feed.normal(48, 40) == []  # two days of 480 news/hour at 20%: no alert
    events = feed.surge(6, 24, 40)  # 60% negative
    assert [e.status for e in events] == ["firing"]
    assert events[0].at - feed.now <= timedelta(0) and events[0].at <= START + timedelta(hours=48, minutes=15)
    a = events[0].annotations
    assert float(a["baseline_share"]) == pytest.approx(0.2, abs=0.02) and float(a["negative_share"]) >= 0.5
    assert a["onset"] == "2024-01-03T00:00:00Z" and int(a["negatives"]) >= 24


def test_a_quiet_scope_alerts_later_but_alerts() -> None:
    feed = Feed(Detector(rules()))
    assert feed.normal(72, 0.5) == []  # 6 news/hour
    events = feed.surge(12, 1, 1)  # one negative news every 5 minutes for an hour
    assert [e.status for e in events] == ["firing"]


def test_volume_surges_of_neutral_news_and_quiet_nights_do_not_alert() -> None:
    feed = Feed(Detector(rules()))
    events = feed.normal(24, 20)
    events += feed.surge(24, 0, 200)  # ten times the volume, none negative
    events += feed.normal(8, 0.1)  # a quiet night
    events += feed.normal(24, 20)
    assert events == []


def test_a_new_scope_is_not_judged_before_min_history() -> None:
    feed = Feed(Detector(rules(baseline={"min_history": "12h"})))
    assert feed.surge(12, 40, 40) == []  # all negative, but the scope is an hour old


def test_resolves_once_the_share_is_back_to_normal_saying_how_long_and_the_peak() -> None:
    feed = Feed(Detector(rules()))
    feed.normal(48, 40)
    assert feed.surge(12, 24, 40)
    events = feed.normal(6, 40)
    assert [e.status for e in events] == ["resolved"]
    resolved = events[0]
    assert resolved.ends_at is not None and resolved.annotations["summary"].startswith("Resolved after 2h")
    assert "peak 6" in resolved.annotations["summary"] and resolved.values["duration_s"] > 0


def test_a_quiet_scope_resolves_within_hours_of_normal_news() -> None:
    feed = Feed(Detector(rules()))
    feed.normal(72, 0.25)  # 3 news/hour
    assert [e.status for e in feed.surge(12, 1, 1)] == ["firing"]
    events = feed.normal(24, 0.25)  # a day of normal news: one episode, resolved well within the day
    assert [e.status for e in events if e.status == "resolved"] == ["resolved"]
    assert next(e for e in events if e.status == "resolved").at < feed.now - timedelta(hours=8)


def test_a_persistent_shift_gives_one_episode() -> None:
    feed = Feed(Detector(rules()))
    feed.normal(72, 20, share=0.15)
    events = feed.normal(4 * 24, 20, share=0.3)  # the share doubles for four days
    events += feed.normal(48, 20, share=0.15)
    episodes = {e.starts_at for e in events}
    assert len(episodes) == 1 and [e.status for e in events if e.status == "resolved"] == ["resolved"]


def test_repeats_while_firing() -> None:
    feed = Feed(Detector(rules(repeat_interval="1h")))
    feed.normal(48, 40)
    events = feed.surge(24, 30, 40)  # two hours
    assert [e.repeat for e in events] == [0, 1]


def test_events_carry_their_scope_and_onset_typed() -> None:
    """What the evidence is looked up by travels as values, not as labels and annotation text to parse back."""
    feed = Feed(Detector(rules()))
    feed.normal(48, 40)
    fired = feed.surge(6, 24, 40)[0]
    assert fired.scope == TOPIC and isinstance(fired.scope, ScopeKey)
    assert fired.onset is not None and fired.onset < fired.at
    assert iso(fired.onset) == fired.annotations["onset"]


def test_state_survives_a_restart_through_json() -> None:
    detector = Detector(rules())
    feed = Feed(detector)
    feed.normal(48, 40)
    assert feed.surge(6, 24, 40)
    restarted = Detector(rules())
    restarted.restore(json.loads(json.dumps(detector.snapshot())))
    assert [e.labels for e in restarted.firing()] == [e.labels for e in detector.firing()]
    assert [e.scope for e in restarted.firing()] == [TOPIC]  # the scope, kept typed, comes back with the labels
    feed.detector = restarted
    assert feed.surge(3, 24, 40) == []  # no second firing
    assert [e.status for e in feed.normal(6, 40)] == ["resolved"]


def test_a_snapshot_keeps_the_typed_scope_and_an_older_one_without_it_still_restores() -> None:
    detector = Detector(rules(labels={"team": "news"}))
    feed = Feed(detector)
    feed.normal(48, 40, share=0.2)
    feed.step(1, 2, scope=ScopeKey("topic", "all"))  # a topic named like the `all` scope kind
    snapshot = json.loads(json.dumps(detector.snapshot()))
    assert sorted(tuple(s["scope"]) for s in snapshot["states"].values()) == [("topic", "all"), TOPIC]
    restarted = Detector(rules(labels={"team": "news"}))
    restarted.restore(snapshot)
    assert sorted(s.scope for s in restarted.states.values()) == [ScopeKey("topic", "all"), TOPIC]
    assert restarted.snapshot() == detector.snapshot()
    for state in snapshot["states"].values():
        del state["scope"]  # as snapshots were saved before the scope was kept
    older = Detector(rules(labels={"team": "news"}))
    older.restore(snapshot)
    assert sorted(s.scope for s in older.states.values()) == [ScopeKey("topic", "all"), TOPIC]


def test_warm_up_learns_baselines_without_alerting() -> None:
    detector = Detector(rules())
    for hour in range(48):
        at = START + timedelta(hours=hour + 1)
        detector.learn([Observation("topic", TOPIC, at - timedelta(hours=1), at, 96, 480)], (96, 480), at=at)
    assert detector.firing() == []
    feed = Feed(detector, START + timedelta(hours=48))
    assert [e.status for e in feed.surge(6, 24, 40)] == ["firing"]


def test_a_removed_rule_resolves_what_it_left_firing() -> None:
    detector = Detector(rules())
    feed = Feed(detector)
    feed.normal(48, 40)
    assert feed.surge(6, 24, 40)
    other = Detector(parse_rules({"rules": [{"name": "other"}]}))
    other.restore(detector.snapshot())
    events = other.step([], (0, 0), at=feed.now + STEP)
    assert [e.status for e in events] == ["resolved"] and other.states == {}


def test_evidence_per_news_is_the_divergence_of_the_lifted_share() -> None:
    p0, lift = 0.2, 2.0
    expected = 0.4 * math.log(0.4 / 0.2) + 0.6 * math.log(0.6 / 0.8)
    assert evidence_per_news(p0, lift) == pytest.approx(expected)
    assert evidence_per_news(p0, 1.2, 1.2) == 0.0  # no lift over the null
    assert evidence_per_news(p0, 1.3, 1.2) < evidence_per_news(p0, 1.3) < evidence_per_news(p0, 4.0)


def _state(feed: Feed) -> tuple[Detector, AlertState, float]:
    detector = feed.detector
    return detector, next(iter(detector.states.values())), feed.now.timestamp()


def test_a_quiet_scope_watches_only_the_lifts_its_volume_can_show_at_a_lower_threshold() -> None:
    rule = rules().rules[0]
    quiet, busy = Feed(Detector(rules())), Feed(Detector(rules()))
    quiet.normal(72, 0.05)  # 0.6 news/hour
    busy.normal(72, 300)  # 3,600 news/hour: even the lowest lift is watched
    detector, state, end = _state(quiet)
    watched = detector.watched(state, rule, 0.2, end)
    assert watched[-1] and not watched[0] and sum(watched) < len(rule.lifts)
    rate = detector.rate(state, rule, end)
    assert threshold(rate, 300.0, sum(watched), 0.1) < detector.threshold(state, rule, end)
    detector, state, end = _state(busy)
    assert all(detector.watched(state, rule, 0.2, end))


def test_an_unwatched_lift_keeps_its_cusum_at_zero_and_the_state_survives_a_restart() -> None:
    feed = Feed(Detector(rules()))
    feed.normal(72, 0.05)
    feed.surge(2, 1, 1)
    detector, state, end = _state(feed)
    watched = detector.watched(
        state, rules().rules[0], detector.baseline(state, rules().rules[0], 0.2, end) or 0.2, end
    )
    assert all(s == 0.0 for s, w in zip(state.cusum, watched, strict=True) if not w)
    assert any(s > 0.0 for s in state.cusum)
    restarted = Detector(rules())
    restarted.restore(json.loads(json.dumps(detector.snapshot())))
    assert restarted.snapshot() == detector.snapshot()


def test_a_company_burst_fires_within_minutes_saying_what_happened() -> None:
    """The issue's ticker: 6 news an hour at 18% negative, then an hour of 46 news, 28 of them negative."""
    feed = Feed(Detector(rules()))
    feed.normal(72, 0.5, share=0.18)  # three days at 6 news/hour
    events: list[AlertEvent] = []
    for step in range(12):
        events += feed.step(3 if step % 3 else 2, 4)  # 46 news in the hour, 28 negative (61%)
        if events:
            break
    assert [e.status for e in events] == ["firing"] and step <= 2  # within 15 minutes
    event = events[0]
    assert event.annotations["trigger"] == "burst"
    summary = event.annotations["summary"]
    assert summary.startswith("Negative news up in topic earnings: ")
    news, minutes = event.values["volume"], event.values["minutes"]
    assert f"{news} news in {minutes} min (usual {event.values['usual_volume']:.0f})" in summary
    assert "% negative (baseline " in summary and float(event.annotations["usual_volume"]) < news / 3


def test_the_share_alone_is_slower_on_a_burst() -> None:
    bursts, share_only = Feed(Detector(rules())), Feed(Detector(rules(bursts=[])))
    fired: dict[str, int] = {}
    for name, feed in (("bursts", bursts), ("share", share_only)):
        feed.normal(72, 0.5, share=0.18)
        for step in range(24):
            if feed.step(3 if step % 3 else 2, 4):
                fired[name] = step
                break
    assert fired["bursts"] < fired.get("share", 24)


def test_a_neutral_flood_a_volume_burst_at_the_usual_share_and_a_few_negatives_do_not_fire() -> None:
    # half an hour at 10x the volume with no negatives, or at the usual share; a step of three negative news
    for steps, neg, n in ((6, 0, 40), (6, 8, 40), (1, 3, 3)):
        feed = Feed(Detector(rules()))
        feed.normal(72, 4, share=0.2)
        assert feed.surge(steps, neg, n) == [], (steps, neg, n)


def test_bursts_are_judged_against_the_hour_of_day_profile() -> None:
    detector = Detector(rules())
    feed = Feed(detector)
    for _ in range(3):  # quiet nights, busy afternoons
        feed.normal(12, 1, share=0.2)
        feed.normal(12, 12, share=0.2)
    state = next(iter(detector.states.values()))
    rule = rules().rules[0]
    end = feed.now.timestamp()
    night, day = (detector.usual_news(state, rule, feed.now.timestamp() - h * 3600, end) for h in (20, 6))
    assert 2.5 * night < day  # the profile knows the daily cycle the all-day rate would average away


def test_burst_state_survives_a_restart_and_older_states_restore() -> None:
    detector = Detector(rules())
    feed = Feed(detector)
    feed.normal(72, 0.5, share=0.18)
    feed.step(3, 4)
    restarted = Detector(rules())
    restarted.restore(json.loads(json.dumps(detector.snapshot())))
    assert restarted.snapshot() == detector.snapshot()
    older = json.loads(json.dumps(detector.snapshot()))
    for state in older["states"].values():  # a state saved before bursts: no profile, runs of three numbers
        for key in ("burst", "burst_run", "season", "level", "usual", "judged", "trigger"):
            del state[key]
        state["run"] = [run[:3] for run in state["run"]]
    restarted.restore(older)
    feed.detector = restarted
    assert feed.normal(2, 0.5, share=0.18) == []


def test_the_gates_of_a_burst() -> None:
    assert share_raised(28, 46, 0.18, 1.6) and volume_raised(46, 6)  # the issue's hour
    assert not share_raised(9, 46, 0.18, 1.6)  # a flood at the usual share
    assert not share_raised(4, 4, 0.18, 1.6)  # a handful of negatives: fewer than one story's copies make
    assert not share_raised(6, 8, 0.18, 1.6, min_negatives=10)  # counting items, a burst needs 10
    assert not volume_raised(10, 6)  # the share may drift; the volume must double too
    assert share_raised(13, 76, 0.097, 1.6)  # 13 negative stories among other news: 1.8x, not e^3 but e^2 likelier


def test_a_burst_among_other_news_still_fires() -> None:
    """A company event whose negatives arrive among much other news (a busy hour of another story in the same
    topic): its share is diluted to under 2x, but 16 negatives where 1 or 2 were usual still fire, on the burst."""
    feed = Feed(Detector(rules()))
    feed.normal(72, 1, share=0.1)  # 12 news an hour, 10% negative (11.5% as drawn)
    events = feed.surge(4, 3, 13) + feed.surge(1, 2, 13) + feed.surge(1, 2, 11)  # half an hour: 16 of 76 negative
    assert [e.annotations["trigger"] for e in events] == ["burst"]


def test_a_burst_right_after_a_flood_of_neutral_news_still_fires() -> None:
    """A busy last hour raises the level the burst CUSUMs expect, but not the volume their gate compares with:
    a company event that follows a flood of neutral news is still a burst."""
    feed = Feed(Detector(rules()))
    feed.normal(72, 2, share=0.18)  # 24 news an hour
    assert feed.surge(12, 0, 8) == []  # an hour of neutral news at 4x the volume
    events = feed.surge(6, 3, 6)  # then half an hour of 36 news, 18 of them negative
    assert [e.status for e in events] == ["firing"] and events[0].annotations["trigger"] == "burst"


def test_a_quiet_ticker_is_judged_on_its_own_share_not_all_news() -> None:
    """A ticker at 6% negative among news at 25%: its baseline leans on all news (cautious), but whether a burst
    raised its share is asked against its own history, so a company event at 3x its share fires."""
    detector = Detector(rules())
    rng, now = random.Random(11), START
    ticker = ScopeKey("topic", "pfe")

    def step(neg: int, n: int) -> list[AlertEvent]:
        nonlocal now
        now += STEP
        obs = [Observation("topic", ticker, now - STEP, now, neg, n)] if n else []
        return detector.step(obs, (neg + 5, n + 20), at=now)

    for _ in range(72 * 12):
        n = int(rng.random() < 0.6)
        assert step(int(n and rng.random() < 0.06), n) == []
    events: list[AlertEvent] = []
    for i in range(24):  # two hours at 7x the volume, 19% negative
        events += step(int(i % 4 != 0), 4)
    assert [e.status for e in events] == ["firing"] and events[0].annotations["trigger"] == "burst"


def test_counting_items_the_bursts_judge_stories() -> None:
    """Under `count: items` the burst tests judge distinct stories where the source knows them: one negative story
    copied by many outlets is not a burst; several negative stories are, and the alert counts items as the rule
    does."""
    for stories, fires in ((1, False), (4, True)):
        feed = Feed(Detector(rules(count="items")))
        feed.normal(72, 0.5, share=0.18)
        events: list[AlertEvent] = []
        for _ in range(3):
            feed.now += STEP
            obs = Observation("topic", TOPIC, feed.now - STEP, feed.now, 4, 5, stories, stories + 1)
            events += feed.detector.step([obs], (4, 5), at=feed.now)
        assert bool(events) == fires, stories
    # 40 copies of 5 negative stories in a step: the burst judges the 5 stories, the alert reports the 40 items
    feed = Feed(Detector(rules(count="items")))
    feed.normal(72, 0.5, share=0.18)
    feed.now += STEP
    obs = Observation("topic", TOPIC, feed.now - STEP, feed.now, 40, 42, 5, 6)
    events = feed.detector.step([obs], (40, 42), at=feed.now)
    assert [e.annotations["trigger"] for e in events] == ["burst"]
    assert events[0].values["volume"] >= 42 and events[0].values["negatives"] >= 40, events[0].values


def _issue_burst(seed: int) -> tuple[str, int]:
    """One draw of the issue's ticker: 5-8 news an hour on a daily cycle, 18% negative, 6% of stories syndicated
    1-4 times, counted as stories; after 3-5 days an hour of about 46 news, two thirds of them negative. Returns
    ("hit", minutes after the onset) for the first alert, ("early", 0) for one before it, or ("miss", 0)."""
    rng = random.Random(seed)
    rule_set = parse_rules({"step": "5m", "rules": [{"name": "ticker", "scope": {"kind": "ticker", "limit": 5}}]})
    detector, now = Detector(rule_set), START
    rate, onset = rng.uniform(5, 8), int(rng.uniform(3, 5) * 288)
    for i in range(onset + 24):
        hour = (i / 12) % 24
        usual = rate / 12 * (0.3 + 1.4 * max(0.0, math.sin(math.pi * (hour - 5) / 19)) ** 1.5)
        burst = onset <= i < onset + 12
        n = _poisson(rng, usual + (40 / 12 if burst else 0.0))
        negatives = sum(rng.random() < (0.62 if burst else 0.18) for _ in range(n))
        copies = sum(rng.randint(1, 4) for _ in range(n) if rng.random() < 0.06)
        now += STEP
        obs = Observation("ticker", ScopeKey("ticker", "X"), now - STEP, now, negatives, n + copies, negatives, n)
        for event in detector.step([obs] if n else [], (negatives + 40, n + 200), at=now):
            if event.status == "firing":
                return ("hit", (i - onset + 1) * 5) if i >= onset else ("early", 0)
    return ("miss", 0)


def _poisson(rng: random.Random, mean: float) -> int:
    k, p, floor = 0, rng.random(), math.exp(-mean)
    while p >= floor:
        k, p = k + 1, p * rng.random()
    return k


def test_the_issues_burst_fires_within_minutes_over_random_draws() -> None:
    """The issue's case with syndication, a daily cycle and random arrivals, 20 draws (about 80 days of one
    ticker, where 0.1 false alerts a week allow about one alert before an onset): no burst is missed, and half
    fire within 15 minutes (60 draws: 59 fire after a median of 10 minutes, the longest 40; one draw alerted
    before its onset)."""
    results = [_issue_burst(seed) for seed in range(20)]
    kinds = [kind for kind, _ in results]
    delays = sorted(d for kind, d in results if kind == "hit")
    assert "miss" not in kinds and kinds.count("early") <= 2, results
    assert delays[len(delays) // 2] <= 15 and delays[-1] <= 60, delays


def test_a_state_saved_with_four_numbers_per_burst_run_restores() -> None:
    """Burst runs saved before they kept the items (four numbers) restore with the judged counts as the items."""
    detector = Detector(rules())
    feed = Feed(detector)
    feed.normal(72, 0.5, share=0.18)
    feed.step(3, 4)
    saved = json.loads(json.dumps(detector.snapshot()))
    for state in saved["states"].values():
        state["burst_run"] = [run[:4] for run in state["burst_run"]]
    restarted = Detector(rules())
    restarted.restore(saved)
    runs = [run for state in restarted.states.values() for run in state.burst_run]
    assert runs and all(len(run) == 6 and run[4:] == run[1:3] for run in runs)
    feed.detector = restarted
    assert [e.annotations["trigger"] for e in feed.surge(3, 3, 4)] == ["burst"]
