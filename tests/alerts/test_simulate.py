"""The quality benchmark on a small synthetic stream: the figures exist and meet the targets."""

from __future__ import annotations

from datetime import timedelta

from alerts.rules import load_rules
from alerts.simulate import SimConfig, Spike, Topic, band, generate, realised_lifts, simulate
from alerts.sources import MemorySource

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


def test_spikes_are_judged_on_the_share_the_stream_realised() -> None:
    events, spikes, bursts = generate(SMALL)
    rules = load_rules()
    lifts = realised_lifts(events, spikes, rules, MemorySource(events, rules.step))
    assert len(lifts) == len(spikes)
    measured = [(s, lift) for s, lift in zip(spikes, lifts, strict=True) if lift is not None]
    assert len(measured) >= len(spikes) // 2

    def flooded(spike: Spike) -> bool:  # a burst of neutral news in the spike's topic during its first window
        window = timedelta(minutes=30)
        return any(
            ("topic", b.topic) == spike.scope and b.start < spike.start + window and b.end > spike.start for b in bursts
        )

    clean = [(s, lift) for s, lift in measured if not flooded(s)]
    # binomial noise spreads each spike around its injected size, never far from it without a neutral burst
    for spike, lift in clean:
        assert 0.4 * spike.size < lift < 1.8 * spike.size, (spike, lift)
    mean_ratio = sum(lift / s.size for s, lift in clean) / len(clean)
    assert 0.8 < mean_ratio < 1.2
    # a flood of neutral news can take a 2x spike's first window under the baseline share
    assert all(lift < spike.size for spike, lift in measured if flooded(spike))


def test_report_splits_normal_volume_spikes_by_realised_lift() -> None:
    figures = simulate(SMALL, load_rules())
    double, under = figures["double_share_spikes"], figures["under_double_as_realised"]
    assert double["spikes"] + under["spikes"] > 0
    assert double["recall"] in (None, 1.0) and double["alerted_later_than_one_window"] == 0
    assert figures["recall_normal_volume"] == (
        (double["detected"] + under["detected"]) / (double["spikes"] + under["spikes"])
    )
