"""Pushing to Alertmanager's API v2: the alert bodies (pure), and the notifier against a real HTTP server
standing in for Alertmanager (the real one: test_alertmanager_integration.py)."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import httpx
import pytest
from prometheus_client import CollectorRegistry
from webhook_receiver import Receiver, _handler, start_receiver

from alerts.alert import AlertEvent
from alerts.alert_settings import AlertSettings
from alerts.alertmanager import api_url, label_name, postable_alert, push_body, scope_url
from alerts.evidence import headline_line
from alerts.notifier import Notifier, NotifierConfig
from monitor.app.settings import SettingsError, load_settings
from monitor.telemetry.alert_series import AlertMetrics
from tests.support.alerts_doubles import ManualClock, MemoryOutbox

LABELS = {"alertname": "NegativeNewsSpike", "rule": "topic", "scope": "topic", "severity": "warning", "topic": "m&a"}
START = datetime(2024, 1, 2, 11, 30, tzinfo=UTC)
NOW = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
HEADLINE = {
    "title": "Acme misses",
    "source": "Wire",
    "published_at": "2024-01-02T11:31:00Z",
    "url": "https://x.example/1",
}


def event(status: str = "firing", labels: dict[str, str] | None = None) -> AlertEvent:
    end = START + timedelta(minutes=40) if status == "resolved" else None
    return AlertEvent(
        status,  # type: ignore[arg-type]
        labels or LABELS,
        {"summary": "Negative news in topic m&a", "description": "6 of 6 negative"},
        START,
        end,
        end or START,
        {"negative_share": 1.0},
        evidence=(HEADLINE,),
    )


def test_the_alert_body_is_what_alertmanager_takes() -> None:
    alert = postable_alert(event(), "http://dash.example:8050/")
    assert alert["labels"] == LABELS and alert["startsAt"] == "2024-01-02T11:30:00Z" and "endsAt" not in alert
    assert alert["generatorURL"] == "http://dash.example:8050/?scope=topic&topic=m%26a"
    assert all(isinstance(v, str) for v in alert["annotations"].values())
    assert "Acme misses (Wire, 2024-01-02T11:31:00Z) https://x.example/1" in alert["annotations"]["headlines"]
    resolved = postable_alert(event("resolved"), "http://dash.example:8050")
    assert resolved["endsAt"] == "2024-01-02T12:10:00Z"
    (sent,) = json.loads(push_body([json.dumps(alert)], NOW, timedelta(minutes=4)))
    assert sent["endsAt"] == "2024-01-02T12:04:00Z"  # firing: resolves by itself unless re-sent
    (kept,) = json.loads(push_body([json.dumps(resolved)], NOW, timedelta(minutes=4)))
    assert kept["endsAt"] == "2024-01-02T12:10:00Z"


def test_headlines_known_only_as_evidence_read_as_the_first_firing_wrote_them() -> None:
    scored = {**HEADLINE, "score": -0.93}
    resent = dataclasses.replace(event(), evidence=(scored, HEADLINE))
    headlines = postable_alert(resent, "http://d")["annotations"]["headlines"]
    assert headlines == (
        "Acme misses (Wire, 2024-01-02T11:31:00Z, score -0.93) https://x.example/1\n"
        "Acme misses (Wire, 2024-01-02T11:31:00Z) https://x.example/1"
    )
    assert headlines == "\n".join(headline_line(h) for h in resent.evidence)  # the first firing's annotation


def test_odd_values_become_strings_and_nothing_fails() -> None:
    odd = dataclasses.replace(event(), values={"p_value": float("nan"), "volume": 12, "none": None})  # type: ignore[dict-item]
    annotations = postable_alert(odd, "http://d")["annotations"]
    assert annotations["p_value"] == "nan" and annotations["volume"] == "12" and "none" not in annotations


def test_label_names_and_urls() -> None:
    assert label_name("desk-team") == "desk_team" and label_name("9x") == "_9x" and label_name("ok_1") == "ok_1"
    labels = postable_alert(event(labels={**LABELS, "desk-team": "rates", "empty": ""}), "http://d")["labels"]
    assert labels["desk_team"] == "rates" and "empty" not in labels
    assert scope_url("http://d/", {"scope": "all"}) == "http://d/?scope=all"
    assert api_url("http://am:9093") == api_url("http://am:9093/") == "http://am:9093/api/v2/alerts"
    assert api_url("http://am:9093/api/v2/alerts") == "http://am:9093/api/v2/alerts"


def am_notifier(urls: list[str], clock: ManualClock, metrics: AlertMetrics | None = None) -> Notifier:
    settings = AlertSettings(alertmanager_urls=urls, alertmanager_resend_every=60, evaluate_every=30, retry_initial=2)
    return Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=2), clock, random.Random(1),
                    metrics)  # fmt: skip


def alertmanager_stub() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver, server = start_receiver("/")
    return receiver, server


def test_every_alertmanager_gets_every_alert_re_sent_while_firing_then_resolved() -> None:
    clock = ManualClock(NOW)
    (a, server_a), (b, server_b) = alertmanager_stub(), alertmanager_stub()
    try:
        n = am_notifier([a.url, b.url], clock)
        topics = [event(labels={**LABELS, "topic": t}) for t in ("rates", "earnings")]
        n.enqueue(topics)
        assert n.deliver_due().delivered == 4
        for am in (a, b):
            (request,) = am.requests
            assert request.path == "/api/v2/alerts" and "x-finmon-signature" not in request.headers
            assert sorted(x["labels"]["topic"] for x in request.json()) == ["earnings", "rates"]
            assert {x["endsAt"] for x in request.json()} == {"2024-01-02T12:04:00Z"}  # 4 x 60 s ahead
        clock.advance(timedelta(seconds=30))
        n.refresh(topics)  # within the re-send period: nothing new
        assert n.deliver_due().delivered == 0
        clock.advance(timedelta(seconds=30))
        n.refresh(topics)
        assert n.deliver_due().delivered == 4
        assert {x["endsAt"] for x in a.requests[-1].json()} == {"2024-01-02T12:05:00Z"}
        n.enqueue([event("resolved", {**LABELS, "topic": "rates"})])
        n.refresh(topics[1:])
        assert n.deliver_due().delivered == 2
        (resolved,) = a.requests[-1].json()
        assert resolved["labels"]["topic"] == "rates" and resolved["endsAt"] == "2024-01-02T12:10:00Z"
    finally:
        server_a.shutdown()
        server_b.shutdown()


def test_a_4xx_is_logged_with_its_body_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(NOW)
    am, server = alertmanager_stub()
    try:
        am.statuses = [400]
        n = am_notifier([am.url], clock)
        n.enqueue([event()])
        with caplog.at_level(logging.ERROR, "alerts.notifier"):
            stats = n.deliver_due()
        assert stats.failed == 1 and "HTTP 400: no" in stats.errors[0]
        assert "rejected by" in caplog.text and "HTTP 400: no" in caplog.text
        clock.advance(timedelta(hours=1))
        assert n.deliver_due().failed == 0 and len(am.requests) == 1
    finally:
        server.shutdown()


def test_an_unreachable_alertmanager_backs_up_in_the_outbox_and_drains_when_it_returns() -> None:
    clock = ManualClock(NOW)
    am, server = alertmanager_stub()
    port = server.server_address[1]
    server.shutdown()
    server.server_close()  # nothing listens there now
    metrics = AlertMetrics(CollectorRegistry())
    n = am_notifier([am.url], clock, metrics)
    n.enqueue([event(), event(labels={**LABELS, "topic": "rates"})])
    assert n.deliver_due().retrying == 2
    assert metrics.backlog.labels("alertmanager_api")._value.get() == 2
    assert metrics.deliveries.labels("alertmanager_api", "retrying")._value.get() == 2
    back = ThreadingHTTPServer(("127.0.0.1", port), lambda *args: _handler(am)(*args))
    threading.Thread(target=back.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        clock.advance(timedelta(seconds=5))
        assert n.deliver_due().delivered == 2
        assert metrics.backlog.labels("alertmanager_api")._value.get() == 0
        assert len(am.requests) == 1 and len(am.requests[0].json()) == 2
    finally:
        back.shutdown()
        back.server_close()


def test_a_malformed_alertmanager_url_fails_at_start_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINMON_CONFIG", raising=False)
    for bad in ("alertmanager:9093", "http://:9093", "http://am:99999"):
        monkeypatch.setenv("FINMON_ALERTS__ALERTMANAGER_URLS", bad)
        with pytest.raises(SettingsError, match="FINMON_ALERTS__ALERTMANAGER_URLS"):
            load_settings()
    monkeypatch.setenv("FINMON_ALERTS__ALERTMANAGER_URLS", "http://am1:9093,http://am2:9093")
    assert load_settings().alerts.alertmanager_urls == ["http://am1:9093", "http://am2:9093"]


def test_by_default_firing_alerts_are_re_sent_at_every_evaluation_ending_four_minutes_ahead() -> None:
    clock = ManualClock(NOW)
    config = NotifierConfig.of(AlertSettings(alertmanager_urls=["http://am:9093"], evaluate_every=1))
    n = Notifier(config, MemoryOutbox(), httpx.Client(), clock)
    assert config.alert_hold == timedelta(minutes=4)  # a 1 s evaluation (the demo's) does not make it flap
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        assert len(n.refresh([event()])) == 1
