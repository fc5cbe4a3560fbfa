"""The notifier against a real HTTP receiver on 127.0.0.1 (retries driven by the manual clock, no sleeps)."""

from __future__ import annotations

import logging
import random
import socketserver
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from webhook_receiver import SECRET, Receiver, start_receiver

from alerts.alert import AlertEvent
from alerts.alert_settings import AlertSettings
from alerts.notifier import Notifier, NotifierConfig
from alerts.outbox import Outbox
from tests.support.alerts_doubles import ManualClock, MemoryOutbox

LABELS = {
    "alertname": "NegativeNewsSpike",
    "rule": "topic",
    "scope": "topic",
    "severity": "warning",
    "topic": "earnings",
}


def event(status: str = "firing") -> AlertEvent:
    start = datetime(2024, 1, 2, 11, 30, tzinfo=UTC)
    end = start + timedelta(minutes=40) if status == "resolved" else None
    return AlertEvent(
        status,
        LABELS,
        {"summary": "Negative news 50% vs baseline 20% (2.5x) in topic earnings"},  # type: ignore[arg-type]
        start,
        end,
        end or start,
        {"negative_share": 0.5},
    )


def notifier(
    receiver: Receiver,
    clock: ManualClock,
    outbox: Outbox | None = None,
    kind: str = "alertmanager",
    timeout: float = 5.0,
) -> Notifier:
    urls = {"webhook_urls" if kind == "alertmanager" else "slack_webhook_urls": [receiver.url]}
    settings = AlertSettings(**urls, hmac_secret=SECRET, retry_initial=2.0, retry_max=60.0, give_up_after=3600)
    config = NotifierConfig.of(settings)
    return Notifier(config, outbox or MemoryOutbox(), httpx.Client(timeout=timeout), clock, random.Random(1))


def test_signed_alertmanager_payload_is_delivered(receiver: Receiver, clock: ManualClock) -> None:
    n = notifier(receiver, clock)
    n.enqueue([event()])
    assert n.deliver_due().delivered == 1
    (request,) = receiver.requests
    assert request.signature_ok
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["version"] == "4" and payload["alerts"][0]["labels"] == LABELS


def test_500_then_200_is_retried_with_backoff_once_delivered(receiver: Receiver, clock: ManualClock) -> None:
    receiver.statuses = [500]
    n = notifier(receiver, clock)
    n.enqueue([event()])
    first = n.deliver_due()
    assert (first.delivered, first.retrying) == (0, 1)
    assert n.deliver_due().delivered == 0 and len(receiver.requests) == 1  # not due yet: backoff
    clock.advance(timedelta(seconds=2))
    assert n.deliver_due().delivered == 1
    assert len(receiver.requests) == 2 and all(r.signature_ok for r in receiver.requests)
    assert receiver.requests[0].body == receiver.requests[1].body
    clock.advance(timedelta(minutes=10))
    assert n.deliver_due().delivered == 0 and len(receiver.requests) == 2  # delivered once, never again


def test_400_is_not_retried(receiver: Receiver, clock: ManualClock) -> None:
    receiver.statuses = [400]
    n = notifier(receiver, clock)
    n.enqueue([event()])
    stats = n.deliver_due()
    assert stats.failed == 1 and "HTTP 400" in stats.errors[0]
    clock.advance(timedelta(hours=1))
    n.deliver_due()
    assert len(receiver.requests) == 1


def test_timeout_is_retried(receiver: Receiver, clock: ManualClock) -> None:
    receiver.hold = threading.Event()
    n = notifier(receiver, clock, timeout=0.3)
    n.enqueue([event()])
    assert n.deliver_due().retrying == 1
    receiver.hold.set()
    receiver.hold = None
    clock.advance(timedelta(seconds=2))
    assert n.deliver_due().delivered == 1


def test_gives_up_after_the_configured_age(receiver: Receiver, clock: ManualClock) -> None:
    receiver.statuses = [503] * 100
    n = notifier(receiver, clock)
    n.enqueue([event()])
    outcomes = []
    for _ in range(12):
        outcomes.append(n.deliver_due())
        clock.advance(timedelta(minutes=10))
    assert sum(o.failed for o in outcomes) == 1
    assert 2 <= len(receiver.requests) <= 12


def test_same_notification_enqueued_twice_is_sent_once(receiver: Receiver, clock: ManualClock) -> None:
    outbox = MemoryOutbox()
    n = notifier(receiver, clock, outbox)
    n.enqueue([event()])
    n.enqueue([event()])  # e.g. re-evaluation after a crash before the detector state was saved
    n.deliver_due()
    assert len(receiver.requests) == 1


def test_resolved_and_slack_notifications(receiver: Receiver, clock: ManualClock) -> None:
    n = notifier(receiver, clock, kind="slack")
    n.enqueue([event("firing"), event("resolved")])
    assert n.deliver_due().delivered == 2
    texts = [r.json()["text"] for r in receiver.requests]
    assert "[FIRING]" in texts[0] and "[RESOLVED]" in texts[1]


def test_delivery_for_a_removed_receiver_is_dropped(receiver: Receiver, clock: ManualClock) -> None:
    outbox = MemoryOutbox()
    notifier(receiver, clock, outbox).enqueue([event()])
    other = Notifier(NotifierConfig.of(AlertSettings()), outbox, httpx.Client(), clock)
    assert other.deliver_due().failed == 1 and receiver.requests == []


def redirecting(receiver: Receiver, status: int, location: str) -> Receiver:
    receiver.statuses = [status]
    receiver.location = location
    return receiver


def two_receivers() -> tuple[Receiver, Receiver, list[Any]]:
    first, server1 = start_receiver("/old")
    second, server2 = start_receiver("/new")
    return first, second, [server1, server2]


def test_307_and_308_are_followed_and_re_signed(clock: ManualClock) -> None:
    for status in (307, 308):
        old, new, servers = two_receivers()
        try:
            old.clock = new.clock = clock
            n = notifier(redirecting(old, status, new.url), clock)
            n.enqueue([event()])
            assert n.deliver_due().delivered == 1
            assert [r.status for r in old.requests] == [status] and [r.status for r in new.requests] == [200]
            assert new.requests[0].signature_ok and new.requests[0].body == old.requests[0].body
        finally:
            for server in servers:
                server.shutdown()


def test_other_redirects_and_redirects_out_of_http_are_delivery_errors(clock: ManualClock) -> None:
    old, new, servers = two_receivers()
    try:
        for status, location, expected in (
            (302, new.url, "only 307/308 are followed"),
            (301, new.url, "only 307/308 are followed"),
            (307, "file:///etc/passwd", "not an http(s) URL"),
            (307, "javascript:alert(1)", "not an http(s) URL"),
        ):
            n = notifier(redirecting(old, status, location), clock)
            n.enqueue([event()])
            stats = n.deliver_due()
            assert stats.failed == 1 and expected in stats.errors[0], stats.errors
            clock.advance(timedelta(hours=1))
            assert n.deliver_due().failed == 0  # final: not retried
        assert new.requests == []
    finally:
        for server in servers:
            server.shutdown()


def test_a_redirect_loop_stops_after_a_few_hops(receiver: Receiver, clock: ManualClock) -> None:
    receiver.statuses = [307] * 10
    receiver.location = receiver.url
    n = notifier(receiver, clock)
    n.enqueue([event()])
    stats = n.deliver_due()
    assert stats.failed == 1 and "more than 3 redirects" in stats.errors[0]
    assert len(receiver.requests) == 4


def test_signatures_use_the_notifiers_clock_not_the_alerts_time(receiver: Receiver) -> None:
    """A replayed alert (its times days old) is signed with the wall clock, so `verify` accepts it."""
    receiver.clock = lambda: datetime.now(UTC)
    n = notifier(receiver, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    old = event()
    assert datetime.now(UTC) - old.starts_at > timedelta(days=300)
    n.enqueue([old])
    assert n.deliver_due().delivered == 1 and receiver.requests[0].signature_ok


def test_a_claimed_delivery_is_sent_by_one_sender_only(receiver: Receiver, clock: ManualClock) -> None:
    """Two notifiers on one outbox (the evaluator's immediate delivery and the scheduled job, or two
    processes) racing: each delivery is claimed once, so the receiver gets each body once."""
    outbox = MemoryOutbox()
    first, second = notifier(receiver, clock, outbox), notifier(receiver, clock, outbox)
    first.enqueue([event("firing"), event("resolved")])
    threads = [threading.Thread(target=n.deliver_due) for n in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bodies = [r.body for r in receiver.requests]
    assert len(bodies) == 2 and len(set(bodies)) == 2


def test_logs_name_receivers_without_their_secrets(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    urls = ["http://user:pw@127.0.0.1:9/hook?token=abc", "https://[::1]:9/x?key=k"]
    settings = AlertSettings(webhook_urls=urls, alertmanager_urls=["http://am:s3cret@127.0.0.1:9"], retry_initial=1)
    n = Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=1), clock, random.Random(1))
    n.enqueue([event()])
    with caplog.at_level(logging.INFO, "alerts.notifier"):
        assert n.deliver_due().retrying == 3  # nothing listens on port 9
    assert "http://127.0.0.1:9/hook" in caplog.text and "https://[::1]:9/x" in caplog.text
    assert "http://127.0.0.1:9/api/v2/alerts" in caplog.text
    assert not any(secret in caplog.text for secret in ("pw", "token", "abc", "key=k", "s3cret"))


def test_a_receiver_trickling_its_answer_times_out_by_the_total_deadline(clock: ManualClock) -> None:
    """One byte every 0.2 s never trips a 1 s read timeout; the request's total deadline (1 s) ends it, so the
    claim on the delivery outlives the attempt and the receiver's thread is free again."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    class Trickle(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            for byte in answer * 4:
                try:
                    self.request.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        settings = AlertSettings(webhook_urls=[url], request_timeout=1.0, retry_initial=1)
        n = Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=1.0), clock, random.Random(1))
        n.enqueue([event()])
        stats = n.deliver_due()
        assert stats.retrying == 1 and "ReadTimeout" in n.outbox.items[next(iter(n.outbox.items))].last_error  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
