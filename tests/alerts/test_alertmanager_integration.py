"""finmon's alerts through a real Alertmanager (prometheus-alertmanager, the shipped
docker/alertmanager/alertmanager.yml with group timings of seconds) to a real webhook receiver: delivery,
an amtool silence, the all-news inhibition, resolution, and a restarted evaluator not notifying twice.
Skipped, saying why, where the program is absent."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from webhook_receiver import Receiver, start_receiver

from alerts.alert import AlertEvent
from alerts.alert_settings import AlertSettings
from alerts.notifier import Notifier, NotifierConfig
from tests.helpers import wait_for
from tests.production.prometheus_servers import Running, alertmanager, amtool, shipped_alertmanager_config
from tests.support.alerts_doubles import MemoryOutbox

pytestmark = pytest.mark.integration

BASE = {"alertname": "NegativeNewsSpike", "severity": "warning"}


def wall() -> datetime:
    return datetime.now(UTC)


def spike(scope: str, value: str = "", status: str = "firing") -> AlertEvent:
    labels = {**BASE, "rule": scope, "scope": scope, **({scope: value} if value else {})}
    start = wall().replace(microsecond=0) - timedelta(minutes=30)
    end = wall() if status == "resolved" else None
    return AlertEvent(status, labels, {"summary": f"spike in {scope} {value}"}, start, end, end or start)  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver, server = start_receiver("/am")
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def am(receiver: Receiver, tmp_path: Path) -> Iterator[Running]:
    with alertmanager(shipped_alertmanager_config(receiver.url), tmp_path) as server:
        yield server


def pusher(am: Running) -> Notifier:
    """What `finmon alerts` builds for FINMON_ALERTS__ALERTMANAGER_URLS (a fresh one: a restarted process)."""
    settings = AlertSettings(alertmanager_urls=[am.url], alertmanager_resend_every=60)
    return Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=5), wall, random.Random(1))


def push(notifier: Notifier, events: list[AlertEvent]) -> None:
    notifier.enqueue(events)
    assert notifier.deliver_due().delivered == len(events)


def notified(receiver: Receiver) -> Counter[tuple[str, str]]:
    """(alert's topic or ticker, or `all`; status) of every alert in every notification Alertmanager sent."""
    found: Counter[tuple[str, str]] = Counter()
    for request in receiver.requests:
        for alert in request.json()["alerts"]:
            labels = alert["labels"]
            found[(labels.get(labels["scope"], labels["scope"]), alert["status"])] += 1
    return found


def alert_state(am: Running, topic: str) -> dict[str, object]:
    (alert,) = [a for a in am.get("/api/v2/alerts") if a["labels"].get("topic") == topic]
    return dict(alert["status"])


def test_an_alert_reaches_the_receiver_through_alertmanager_and_resolves(receiver: Receiver, am: Running) -> None:
    finmon = pusher(am)
    push(finmon, [spike("topic", "earnings")])
    wait_for(lambda: notified(receiver)[("earnings", "firing")] == 1, 30, "Alertmanager to notify the receiver")
    payload = receiver.requests[0].json()
    assert payload["version"] == "4" and payload["receiver"] == "desk"
    (alert,) = payload["alerts"]
    assert alert["labels"] == {**BASE, "rule": "topic", "scope": "topic", "topic": "earnings"}
    assert alert["generatorURL"] == "http://localhost:8050/?scope=topic&topic=earnings"
    push(finmon, [spike("topic", "earnings", "resolved")])
    wait_for(lambda: notified(receiver)[("earnings", "resolved")] == 1, 30, "the resolution to reach the receiver")
    assert am.get("/api/v2/alerts?active=true") == []


def test_a_restarted_evaluator_does_not_notify_twice(receiver: Receiver, am: Running) -> None:
    push(pusher(am), [spike("topic", "earnings")])
    wait_for(lambda: notified(receiver)[("earnings", "firing")] == 1, 30, "the first notification")
    restarted = pusher(am)  # a new process: its restored firing alert is pushed again at once
    assert len(restarted.refresh([spike("topic", "earnings")])) == 1
    assert restarted.deliver_due().delivered == 1
    push(restarted, [spike("topic", "rates")])  # a new alert after it: notified on its own
    wait_for(lambda: notified(receiver)[("rates", "firing")] == 1, 30, "the new alert's notification")
    time.sleep(2.5)  # more than two group intervals: a repeat would have been sent by now
    assert notified(receiver)[("earnings", "firing")] == 1


def test_an_amtool_silence_stops_the_alerts_notification(receiver: Receiver, am: Running) -> None:
    silence = amtool(am.url, "silence", "add", "alertname=NegativeNewsSpike", "topic=rates",
                     "--comment=finmon test", "--author=test", "--duration=1h")  # fmt: skip
    push(pusher(am), [spike("topic", "rates"), spike("topic", "mergers")])
    wait_for(lambda: notified(receiver)[("mergers", "firing")] == 1, 30, "the unsilenced alert's notification")
    time.sleep(2.5)
    assert notified(receiver)[("rates", "firing")] == 0
    assert alert_state(am, "rates") == {"state": "suppressed", "silencedBy": [silence], "inhibitedBy": []}
    assert amtool(am.url, "silence", "query", "-q") == silence


def test_an_all_news_alert_inhibits_topic_alerts(receiver: Receiver, am: Running) -> None:
    finmon = pusher(am)
    push(finmon, [spike("all")])
    # Alertmanager's inhibitor learns of a source alert asynchronously: one arriving in the same instant as
    # its targets may lose the race (Alertmanager's behaviour, not finmon's), so the all-news alert is first
    wait_for(lambda: notified(receiver)[("all", "firing")] == 1, 30, "the all-news alert's notification")
    push(finmon, [spike("topic", "earnings"), spike("ticker", "ACME")])
    wait_for(lambda: notified(receiver)[("ACME", "firing")] == 1, 30, "the ticker alert's notification")
    time.sleep(2.5)
    assert notified(receiver)[("earnings", "firing")] == 0
    status = alert_state(am, "earnings")
    assert status["state"] == "suppressed" and status["inhibitedBy"]


def test_each_alertmanager_of_a_pair_gets_every_alert(receiver: Receiver, am: Running, tmp_path: Path) -> None:
    (tmp_path / "second").mkdir()
    with alertmanager(shipped_alertmanager_config(receiver.url), tmp_path / "second") as other:
        settings = AlertSettings(alertmanager_urls=[am.url, other.url])
        finmon = Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=5), wall)
        finmon.enqueue([spike("topic", "earnings"), spike("ticker", "ACME")])
        assert finmon.deliver_due().delivered == 4
        for server in (am, other):
            alerts = server.get("/api/v2/alerts?active=true")
            assert sorted(a["labels"].get("topic", a["labels"].get("ticker")) for a in alerts) == ["ACME", "earnings"]
