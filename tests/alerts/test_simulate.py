"""The quality benchmark on a small synthetic stream: the figures exist and meet the targets."""

from __future__ import annotations

from datetime import timedelta

from alerts.rules import load_rules
from alerts.simulate import SimConfig, Spike, Topic, band, generate, simulate

SMALL = SimConfig(
    weeks=1,
    seed=3,
    topics=(Topic("earnings", 500, 0.2, True), Topic("macro", 400, 0.25, True), Topic("quiet", 5, 0.2, False)),
    small_tickers=3,
    spikes_per_scope_week=3,
)


def test_generator_injects_known_spikes_into_a_cycling_stream() -> None:
    events, spikes, bursts = generate(SMALL)
    assert len(spikes) == 3 * (2 + 6) and bursts
    assert all(isinstance(s, Spike) and s.minutes >= 30 and s.size >= 2.0 for s in spikes)
    hours = [0] * 24
    for event in events:
        hours[event.ts.hour] += 1
    assert hours[15] > 2.5 * hours[3]  # the daily volume cycle
    assert {e.topic for e in events} == {"earnings", "macro", "quiet"}


def test_figures_meet_the_targets_at_normal_volume() -> None:
    figures = simulate(SMALL, load_rules())
    assert figures["recall_normal_volume"] >= 0.95
    # one simulated week of 13 scopes is a small sample: the mean is held to the target here, the per-scope
    # maximum over four weeks is what `finmon alerts simulate` reports
    assert figures["false_alerts_per_scope_week_mean"] <= 1.0
    assert figures["firing_notifications_per_episode"] == {"min": 1, "max": 1}
    assert figures["resolved_notifications_per_episode"] == {"min": 1, "max": 1}
    assert figures["delay_min_median"] <= 30
    assert set(figures["by_volume_band"]) <= {">=400/h", "200-400/h", "100-200/h", "0-100/h"}


def test_volume_bands() -> None:
    assert [band(r) for r in (500, 250, 150, 20)] == [">=400/h", "200-400/h", "100-200/h", "0-100/h"]
    assert timedelta(minutes=SMALL.minutes) == timedelta(weeks=1)
