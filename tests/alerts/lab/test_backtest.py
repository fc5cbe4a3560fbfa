"""The backtest on a hand-built stream with one known spike, through the library and the CLI."""

from __future__ import annotations

import functools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.counts import Series
from alerts.lab.backtest import EventError, read_events, run_backtest
from alerts.lab.memory_source import MemorySource, NewsEvent
from alerts.rules import Scope, load_rules
from monitor.app.cli import main

START = datetime(2024, 3, 4, tzinfo=UTC)
SPIKE = (START + timedelta(hours=30), START + timedelta(hours=31))


@functools.cache
def stream() -> tuple[NewsEvent, ...]:
    """36 hours of 10 news/min in topic `earnings` (20% negative), 60% negative during one hour."""
    rng = random.Random(3)
    events = []
    for minute in range(36 * 60):
        ts = START + timedelta(minutes=minute)
        share = 0.6 if SPIKE[0] <= ts < SPIKE[1] else 0.2
        for i in range(10):
            sentiment = "negative" if rng.random() < share else "neutral"
            events.append(NewsEvent(ts + timedelta(seconds=6 * i), "earnings", sentiment, ("ACME",) if i < 5 else ()))
    return tuple(events)


def test_one_spike_gives_one_firing_and_one_resolved_per_scope() -> None:
    alerts = run_backtest(stream(), load_rules())
    scopes = {(a.labels["scope"], a.status) for a in alerts}
    assert scopes == {(s, st) for s in ("all", "topic", "ticker") for st in ("firing", "resolved")}
    assert len(alerts) == 6
    for alert in alerts:
        assert SPIKE[0] < alert.starts_at <= SPIKE[0] + timedelta(minutes=15)  # 600 news/hour: within minutes
        if alert.status == "resolved":
            assert alert.ends_at is not None and alert.ends_at > SPIKE[1]
    firing = next(a for a in alerts if a.status == "firing" and a.labels["scope"] == "ticker")
    assert firing.labels["ticker"] == "ACME"
    assert float(firing.annotations["negative_share"]) > 0.3 and float(firing.annotations["baseline_share"]) < 0.25


def test_backtest_is_deterministic() -> None:
    events = stream()
    assert [a.to_json() for a in run_backtest(events, load_rules())] == [
        a.to_json() for a in run_backtest(list(reversed(events)), load_rules())
    ]


def test_memory_source_pads_outside_the_data_and_ranks_tickers() -> None:
    rules = load_rules()
    events = [NewsEvent(START, "t", "negative", ("B",)), NewsEvent(START, "t", "neutral", ("A", "B"))]
    source = MemorySource(events, rules.step)
    start, end = START - timedelta(minutes=10), START + timedelta(minutes=10)
    series = source.counts(
        rules.rules[2].model_copy(update={"scope": Scope(kind="ticker", limit=1)}), start, end, rules.step
    )
    assert list(series) == [("ticker", "B")]  # the most active ticker only
    # events without a story id: each is its own story, so the story counts equal the item counts
    assert series[("ticker", "B")] == Series([0, 0, 1, 0], [0, 0, 2, 0], [0, 0, 1, 0], [0, 0, 2, 0])
    assert source.parent(start, end, rules.step) == Series([0, 0, 1, 0], [0, 0, 2, 0], [0, 0, 1, 0], [0, 0, 2, 0])


def syndicated(copies: int) -> list[NewsEvent]:
    """A day of 2 news/min at 20% negative, then for 20 minutes one negative story copied `copies` times every 5 min."""
    rng = random.Random(9)
    events = [
        NewsEvent(
            START + timedelta(seconds=30 * i), "macro", "negative" if rng.random() < 0.2 else "neutral", (), f"s{i}"
        )
        for i in range(2 * 60 * 24)
    ]
    burst = START + timedelta(days=1)
    for k in range(4):
        events += [
            NewsEvent(burst + timedelta(minutes=5 * k, seconds=c), "macro", "negative", (), f"wire{k}", HEADLINE)
            for c in range(copies)
        ]
    return events


HEADLINE = (("title", "Wire: macro shock"), ("source", "wire"), ("url", "https://wire.test/1"), ("score", -0.9))


def test_counting_stories_counts_a_syndicated_story_once() -> None:
    items = load_rules().model_copy(
        update={"rules": [r.model_copy(update={"count": "items"}) for r in load_rules().rules[1:2]]}
    )
    stories = items.model_copy(update={"rules": [r.model_copy(update={"count": "stories"}) for r in items.rules]})
    fired = run_backtest(syndicated(30), items)
    assert [a.status for a in fired][:1] == ["firing"]
    assert fired[0].evidence and fired[0].evidence[0]["title"] == "Wire: macro shock"
    assert "Wire: macro shock (wire, " in fired[0].annotations["headlines"]
    assert run_backtest(syndicated(30), stories) == []


def test_events_may_carry_story_and_headline_fields() -> None:
    line = (
        '{"ts": "2024-01-01T00:00:00Z", "topic": "a", "sentiment": "negative", "story_id": "s1",'
        ' "title": "T", "url": "https://x.test", "source": "wire", "score": -0.5}'
    )
    event = next(read_events([line]))
    assert event.story_id == "s1" and dict(event.headline) == {
        "title": "T",
        "url": "https://x.test",
        "source": "wire",
        "score": -0.5,
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"ts": "yesterday", "topic": "a", "sentiment": "negative"}', "ts"),
        ('{"ts": "2024-01-01T00:00:00", "topic": "a", "sentiment": "negative"}', "time zone"),
        ('{"ts": "2024-01-01T00:00:00Z", "sentiment": "negative"}', "topic"),
        ('{"ts": "2024-01-01T00:00:00Z", "topic": "a", "sentiment": "bad"}', "sentiment"),
        ('{"ts": "2024-01-01T00:00:00Z", "topic": "a", "sentiment": "neutral", "tickers": "AAPL"}', "tickers"),
        ("not json", "not JSON"),
    ],
)
def test_bad_event_lines_name_line_and_field(line: str, message: str) -> None:
    with pytest.raises(EventError, match=message) as err:
        list(read_events(["", line]))
    assert "line 2" in str(err.value)


def test_cli_prints_state_changes_as_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.jsonl"
    with path.open("w") as out:
        for e in stream():
            out.write(
                json.dumps(
                    {
                        "ts": e.ts.isoformat().replace("+00:00", "Z"),
                        "topic": e.topic,
                        "sentiment": e.sentiment,
                        "tickers": list(e.tickers),
                    }
                )
                + "\n"
            )
    assert main(["alerts", "backtest", "--timing", "--events", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert re.search(r"backtest: [\d,]+ events, [\d,]+ alert events in [\d.]+ s wall, [\d.]+ s CPU", err)
    assert [(x["status"], x["labels"]["scope"]) for x in lines][:3] == [
        ("firing", "all"),
        ("firing", "topic"),
        ("firing", "ticker"),
    ]
    assert {"status", "labels", "startsAt", "endsAt", "annotations", "fingerprint"} <= set(lines[0])
    assert {"negative_share", "baseline_share", "volume", "usual_volume", "minutes", "trigger", "p_value"} <= set(
        lines[0]["annotations"]
    )


def test_cli_reports_bad_rules_with_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"ts": "2024-01-01T00:00:00Z", "topic": "a", "sentiment": "neutral"}\n')
    rules = tmp_path / "r.yaml"
    rules.write_text("rules:\n  - name: x\n    min_volume: -1\n")
    assert main(["alerts", "backtest", "--events", str(events), "--rules", str(rules)]) == 2
    assert "rules[0].min_volume: no longer supported" in capsys.readouterr().err
