"""Delivery exactly once per receiver, on the Elasticsearch outbox of both ES-API servers: four receivers
(healthy, failing with 500 for a while, hanging, answering 307) and two notifiers on one outbox (the
evaluator's immediate delivery and the scheduled job, or two processes) delivering at the same time."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import httpx
import pytest
from elasticsearch import Elasticsearch
from webhook_receiver import SECRET, Receiver, start_receiver

from alerts.alert import AlertEvent
from alerts.alert_settings import AlertSettings
from alerts.es_store import EsOutbox
from alerts.notifier import Notifier, NotifierConfig
from alerts.outbox import Delivery
from monitor.app.alerting import alert_service_for
from monitor.app.settings import Settings
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client
from tests.helpers import wait_for
from tests.support.alerts_doubles import ManualClock

pytestmark = pytest.mark.integration

REQUEST_TIMEOUT = 20.0  # the hanging receiver holds each request this long before the client gives up


def wall() -> datetime:
    return datetime.now(UTC)


def spike(topic: str) -> AlertEvent:
    labels = {"alertname": "NegativeNewsSpike", "rule": "topic", "scope": "topic", "severity": "warning"}
    start = datetime(2024, 1, 2, 11, 30, tzinfo=UTC)
    return AlertEvent("firing", {**labels, "topic": topic}, {"summary": f"spike in {topic}"}, start, None, start)


@pytest.fixture
def client(es_settings: ElasticsearchSettings) -> Iterator[Elasticsearch]:
    client = make_client(es_settings)
    yield client
    client.close()


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    started: dict[str, tuple[Receiver, ThreadingHTTPServer]] = {
        name: start_receiver(f"/{name}") for name in ("healthy", "flaky", "hanging", "moved", "final")
    }
    found = {name: receiver for name, (receiver, _) in started.items()}
    for receiver in found.values():
        receiver.clock = wall
    found["flaky"].statuses = [500] * 3
    found["hanging"].hold, found["hanging"].hold_for = threading.Event(), 60.0
    found["moved"].statuses, found["moved"].location = [307] * 100, found["final"].url
    yield found
    found["hanging"].hold.set()
    for _, server in started.values():
        server.shutdown()
        server.server_close()


def notifier(urls: list[str], outbox: EsOutbox, seed: int) -> Notifier:
    settings = AlertSettings(
        webhook_urls=urls, hmac_secret=SECRET, retry_initial=0.2, retry_max=0.5, request_timeout=REQUEST_TIMEOUT
    )
    return Notifier(
        NotifierConfig.of(settings), outbox, httpx.Client(timeout=REQUEST_TIMEOUT), wall, random.Random(seed)
    )


def hammer(notifiers: list[Notifier], stop: threading.Event) -> list[threading.Thread]:
    """Delivery runs from several threads at once, without waiting for the receivers (as the service does)."""

    def loop(n: Notifier) -> None:
        while not stop.is_set():
            n.deliver_due(wait=False)
            time.sleep(0.02)

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in notifiers for _ in range(2)]
    for thread in threads:
        thread.start()
    return threads


def topics_answered(receiver: Receiver) -> Counter[str]:
    """Per alert (its topic): how many requests the receiver answered with a 2xx."""
    return Counter(r.json()["alerts"][0]["labels"]["topic"] for r in receiver.requests if 200 <= r.status < 300)


def test_four_receivers_get_each_event_exactly_once(
    client: Elasticsearch, receivers: dict[str, Receiver], unique: str
) -> None:
    outbox = EsOutbox(client, f"outbox-{unique}")
    urls = [receivers[name].url for name in ("healthy", "flaky", "hanging", "moved")]
    first, second = notifier(urls, outbox, 1), notifier(urls, outbox, 2)
    stop = threading.Event()
    threads = hammer([first, second], stop)
    try:
        first.enqueue([spike("earnings")])
        wait_for(lambda: len(receivers["hanging"].requests) == 1, 10, "the hanging receiver to get a request")
        # while that request hangs, new alerts reach every other receiver: they are served on their own
        second.enqueue([spike("rates"), spike("mergers")])
        for name in ("healthy", "flaky", "final"):
            wait_for(
                lambda n=name: set(topics_answered(receivers[n])) == {"earnings", "rates", "mergers"},
                REQUEST_TIMEOUT / 2,
                f"{name} to answer every alert while another receiver hangs",
            )
        time.sleep(1.0)  # more delivery runs: nothing may be sent again
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        receivers["hanging"].hold.set()  # type: ignore[union-attr]
        for n in (first, second):
            n.close(wait=True)
    for name in ("healthy", "flaky", "final"):
        assert topics_answered(receivers[name]) == {"earnings": 1, "rates": 1, "mergers": 1}, name
        assert all(r.signature_ok for r in receivers[name].requests), name
    assert len(receivers["flaky"].requests) == 3 + 3  # three 500s retried, each alert answered once
    assert [r.status for r in receivers["moved"].requests] == [307] * 3  # each followed once, re-signed
    stored = [Delivery.from_json(hit["_source"]) for hit in client.search(index=outbox.index, size=100)["hits"]["hits"]]
    hanging = [d for d in stored if d.target == notifier([receivers["hanging"].url], outbox, 0).config.targets[0].id]
    assert len(receivers["hanging"].requests) == sum(d.attempts for d in hanging)  # every request recorded
    assert {d.state for d in stored if d not in hanging} == {"delivered"}


@pytest.mark.usefixtures("no_finmon_env")
def test_the_app_shell_signs_and_retries_on_the_wall_clock_while_judging_on_a_replay_clock(
    es_settings: ElasticsearchSettings, client: Elasticsearch, receivers: dict[str, Receiver], unique: str
) -> None:
    """`finmon up --demo` judges on the replay's clock (days old); its webhooks are still signed with the time
    they are sent, which receivers' `verify` (300 s) accepts, and retried on real time (after the replay)."""
    flaky = receivers["flaky"]
    flaky.statuses = [500]
    replay = ManualClock(datetime(2026, 11, 20, 10, 15, tzinfo=UTC))
    settings = Settings(
        es=es_settings.model_copy(update={"alerts_index": f"alerts-{unique}", "news_index": f"news-{unique}"}),
        alerts=AlertSettings(webhook_urls=[flaky.url], hmac_secret=SECRET, retry_initial=0.2, retry_max=0.5),
    )
    service = alert_service_for(settings, clock=replay)
    try:
        service.notifier.enqueue([spike("earnings")])
        assert service.deliver().retrying == 1
        (pending,) = service.notifier.outbox.claim(wall() + timedelta(seconds=5), wall(), limit=5)
        assert abs(pending.next_attempt_at - wall()) < timedelta(seconds=60)  # real time, not the replay's
        service.notifier.outbox.update(dataclasses.replace(pending, next_attempt_at=wall()))
        assert service.deliver().delivered == 1
    finally:
        service.stop()
    assert [r.status for r in flaky.requests] == [500, 200] and all(r.signature_ok for r in flaky.requests)
    assert all(abs(int(r.headers["x-finmon-timestamp"]) - wall().timestamp()) < 60 for r in flaky.requests)
