"""Alertmanager's view of finmon's alerts, read from `GET /api/v2/alerts` answers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.dashboard.am_state import (
    AmView,
    BadAnswer,
    alerts_request,
    am_alerts,
    display_url,
    identity,
    in_window,
    latest_episodes,
    merged,
)


def am(labels: dict[str, str], state: str = "active", silenced: Any = (), inhibited: Any = ()) -> dict[str, Any]:
    status = {"state": state, "silencedBy": list(silenced), "inhibitedBy": list(inhibited)}
    return {"labels": {"alertname": "NegativeNewsSpike", **labels}, "status": status, "fingerprint": "am-own"}


def hit(fingerprint: str, status: str, at: str, labels: dict[str, str], ends: str | None = None) -> dict[str, Any]:
    source = {"fingerprint": fingerprint, "status": status, "at": at, "starts_at": "2026-11-20T14:30:00Z"}
    return {"_source": {**source, "ends_at": ends, "labels": labels, "summary": f"spike {fingerprint}"}}


TOPIC = {"rule": "surge", "scope": "topic", "topic": "Earnings", "severity": "warning"}
TICKER = {"rule": "surge", "scope": "ticker", "ticker": "NWSC", "severity": "critical"}
ALL = {"rule": "surge", "scope": "all", "severity": "critical"}


def test_states_active_silenced_inhibited() -> None:
    answer = [
        am(TOPIC, "suppressed", inhibited=["abc"]),
        am(TICKER, "suppressed", silenced=["s-1"]),
        am({**ALL, "topic": ""}),
        {"labels": {"alertname": "FinmonWorkerStalled"}, "status": {"state": "active"}},  # not finmon's news alert
    ]
    found = am_alerts(answer)
    assert len(found) == 3
    assert found[identity(TOPIC)].state == "inhibited" and found[identity(TOPIC)].inhibited_by == ("abc",)
    assert found[identity(TICKER)].state == "silenced" and found[identity(TICKER)].silenced_by == ("s-1",)
    assert found[identity(ALL)].state == "active"  # an empty label is no label: the same identity


def test_a_silence_wins_over_an_inhibition_and_odd_status_is_kept_as_said() -> None:
    found = am_alerts([am(TOPIC, "suppressed", silenced=["s"], inhibited=["i"]), am(TICKER, "unprocessed")])
    assert found[identity(TOPIC)].state == "silenced"
    assert found[identity(TICKER)].state == "unprocessed"
    assert am_alerts([{"labels": TOPIC, "status": "garbage"}])[identity(TOPIC)].state == "unknown"


@pytest.mark.parametrize("answer", [{"alerts": []}, "text", None, 3])
def test_an_answer_that_is_not_a_list_is_refused(answer: Any) -> None:
    with pytest.raises(BadAnswer):
        am_alerts(answer)


def test_hostile_entries_are_skipped_not_fatal() -> None:
    odd = {"labels": TICKER, "status": {"state": "suppressed", "silencedBy": "not a list"}}
    answer = [None, 1, "x", {"labels": "x"}, {"labels": {"rule": "r"}}, odd]
    found = am_alerts(answer)
    assert list(found) == [identity(TICKER)] and found[identity(TICKER)].silenced_by == ()
    assert found[identity(TICKER)].state == "suppressed"  # suppressed, by what it did not say


def test_latest_event_per_episode_matched_to_each_alertmanager() -> None:
    hits = [
        hit("t", "resolved", "2026-11-20T16:30:00Z", TOPIC, ends="2026-11-20T16:30:00Z"),
        hit("t", "firing", "2026-11-20T14:35:00Z", TOPIC),
        hit("k", "firing", "2026-11-20T15:00:00Z", TICKER),
        {"_source": {"labels": "bad"}},
        {"nothing": 1},
    ]
    episodes = latest_episodes(hits)
    assert [(e["fingerprint"], e["status"], e["key"]) for e in episodes] == [
        ("t", "resolved", "Earnings"),
        ("k", "firing", "NWSC"),
    ]
    views = [
        AmView("http://am1:9093", am_alerts([am(TICKER, "suppressed", silenced=["s-1"])])),
        AmView("http://am2:9093", error="no answer within 2 s"),
    ]
    rows = merged(episodes, views)
    assert [r["fingerprint"] for r in rows] == ["k", "t"]  # firing first
    assert rows[0]["alertmanager"] == [
        {"url": "http://am1:9093", "state": "silenced", "silenced_by": ["s-1"], "inhibited_by": []},
        {"url": "http://am2:9093", "state": "unreachable", "error": "no answer within 2 s"},
    ]
    assert rows[1]["alertmanager"][0] == {"url": "http://am1:9093", "state": "absent"}
    assert "identity" not in rows[0]


def test_window_keeps_firing_alerts_and_those_ended_inside_it() -> None:
    start = datetime(2026, 11, 20, 12, tzinfo=UTC)
    base = {"status": "resolved", "at": None}
    assert in_window({"status": "firing", "ends_at": None, "at": "2026-11-01T00:00:00Z"}, start)
    assert in_window({**base, "ends_at": "2026-11-20T16:30:00+00:00"}, start)
    assert not in_window({**base, "ends_at": "2026-11-20T11:59:00Z"}, start)
    assert not in_window({**base, "ends_at": "not a time"}, start)
    body = alerts_request("at", "2026-11-20T21:05:00Z", 500)
    assert body["sort"] == [{"at": {"order": "desc"}}] and body["size"] == 500


def test_alertmanager_urls_shown_without_credentials() -> None:
    assert display_url("http://user:secret@am1:9093/?token=x") == "http://am1:9093"
    assert display_url("https://[::1]:9093/am/") == "https://[::1]:9093/am"


def test_alertmanager_holds_the_newest_episode_of_a_scope_only() -> None:
    old = hit("t", "resolved", "2026-11-20T12:00:00+00:00", TOPIC, ends="2026-11-20T12:00:00Z")
    old["_source"]["starts_at"] = "2026-11-20T10:00:00Z"
    new = hit("t", "firing", "2026-11-20T15:00:00Z", TOPIC)
    rows = merged(latest_episodes([old, new]), [AmView("http://am:9093", am_alerts([am(TOPIC)]))])
    states = [(r["status"], r["alertmanager"][0]["state"]) for r in rows]
    assert states == [("firing", "active"), ("resolved", "absent")]
