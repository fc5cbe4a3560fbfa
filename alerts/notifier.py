"""Notifier: turns alert events into deliveries in the outbox and sends what is due, each receiver on its own.

Receivers: webhooks (Alertmanager's webhook JSON, Slack) get one signed request per notification;
Alertmanagers (API v2) get every alert, batched, re-sent while it fires (see `alerts.alertmanager`).

Retries 5xx answers, timeouts and connection errors with exponential backoff; a 4xx answer is final (the
receiver rejected the request, sending it again cannot help), and so is a redirect other than 307/308
(those are followed, a few hops at most, to http(s) URLs, and re-signed). Each receiver is served by its own
thread with its own timeout, one at a time, so a hanging receiver delays only its own deliveries; each
delivery is claimed in the outbox before it is sent, so no two senders send it. Nothing is lost across
restarts: deliveries live in the outbox until delivered, rejected or older than `give_up_after`.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

import httpx

from alerts import alertmanager
from alerts.alert import AlertEvent
from alerts.alert_settings import AlertSettings
from alerts.outbox import Delivery, Outbox, Target
from alerts.payloads import alertmanager_payload, slack_payload
from alerts.signing import sign
from monitor.backoff import backoff_delays
from monitor.deadline import Deadlines, install
from monitor.telemetry.alert_series import AlertMetrics

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
FOLLOWED = (307, 308)  # the redirects that keep the method and body
AM_BATCH = 64  # alerts per Alertmanager request
ROUNDS = 50  # claims per receiver and delivery run, at most (the next run goes on)


@dataclass(frozen=True)
class NotifierConfig:
    """How deliveries are addressed, signed and retried: the alerts settings in the notifier's terms."""

    targets: tuple[Target, ...]
    secret: str | None
    signature_header: str
    timestamp_header: str
    receiver: str
    external_url: str
    retry_initial: float
    retry_max: float
    give_up_after: timedelta
    request_timeout: float
    dashboard_url: str
    resend_every: timedelta
    evaluate_every: timedelta

    @classmethod
    def of(cls, settings: AlertSettings) -> NotifierConfig:
        targets = [Target(url, "alertmanager") for url in settings.webhook_urls]
        targets += [Target(url, "slack") for url in settings.slack_webhook_urls]
        targets += [Target(alertmanager.api_url(url), "alertmanager_api") for url in settings.alertmanager_urls]
        return cls(
            targets=tuple(targets),
            secret=settings.hmac_secret.get_secret_value() if settings.hmac_secret else None,
            signature_header=settings.signature_header,
            timestamp_header=settings.timestamp_header,
            receiver=settings.receiver,
            external_url=settings.external_url,
            retry_initial=settings.retry_initial,
            retry_max=settings.retry_max,
            give_up_after=timedelta(seconds=settings.give_up_after),
            request_timeout=settings.request_timeout,
            dashboard_url=settings.dashboard_url,
            resend_every=timedelta(seconds=settings.alertmanager_resend_every),
            evaluate_every=timedelta(seconds=settings.evaluate_every),
        )

    @property
    def hold(self) -> timedelta:
        """How long a claimed delivery is kept from other senders: longer than an attempt can take (each
        request, each redirect hop, ends by its total deadline of `request_timeout`)."""
        return timedelta(seconds=self.request_timeout * (MAX_REDIRECTS + 1) + 60)

    @property
    def alert_hold(self) -> timedelta:
        """How far ahead a firing alert pushed to Alertmanager says it ends (unless re-sent)."""
        return alertmanager.RESEND_PERIODS * max(self.resend_every, self.evaluate_every, alertmanager.MIN_PERIOD)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, delivery: Delivery) -> None:
        if delivery.state == "delivered":
            self.delivered += 1
        elif delivery.state == "failed":
            self.failed += 1
            self.errors.append(delivery.last_error)
        else:
            self.retrying += 1

    def merge(self, other: DeliveryStats) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors


class DeliveryError(Exception):
    """A request that cannot succeed as addressed (a redirect finmon does not follow)."""


class Notifier:
    """Enqueues notifications for every target and delivers due ones over HTTP, each receiver concurrently."""

    def __init__(
        self,
        config: NotifierConfig,
        outbox: Outbox,
        client: httpx.Client,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        metrics: AlertMetrics | None = None,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.client = client
        self.clock = clock  # the wall clock: signatures, retries and Alertmanager's endsAt are real time
        self.rng = rng or random.Random()
        self.metrics = metrics
        self._targets = {t.id: t for t in config.targets}
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._resent: dict[str, datetime] = {}
        self._closing = threading.Event()
        self._deadlines = Deadlines()  # per thread: each request ends by its deadline, even one trickled
        install(client, self._deadlines)

    def enqueue(self, events: Sequence[AlertEvent]) -> list[Delivery]:
        """Store one delivery per event and target (before anything is sent, so nothing can be lost)."""
        now = self.clock()
        webhooks = [t for t in self.config.targets if t.kind != "alertmanager_api"]
        deliveries = [self._delivery(event, target, now) for event in events for target in webhooks]
        if deliveries:
            self.outbox.add(deliveries)
        return deliveries + self._push(events, now, force=True)

    def refresh(self, firing: Sequence[AlertEvent]) -> list[Delivery]:
        """Re-send the alerts still firing to every Alertmanager, once per re-send period (what keeps them
        active there: each push says it ends a few periods ahead)."""
        return self._push(firing, self.clock(), force=False)

    def _push(self, events: Sequence[AlertEvent], now: datetime, force: bool) -> list[Delivery]:
        targets = [t for t in self.config.targets if t.kind == "alertmanager_api"]
        deliveries = []
        for event in events:
            for target in targets:
                key = alertmanager.episode_id(event, target.id)
                last = self._resent.get(key)
                if force or last is None or now - last >= self.config.resend_every:
                    self._resent[key] = now
                    deliveries.append(self._am_delivery(event, target, key, now))
        if deliveries:
            self.outbox.put(deliveries)
        if not force:  # forget episodes no longer firing
            alive = {alertmanager.episode_id(e, t.id) for e in events for t in targets}
            self._resent = {k: v for k, v in self._resent.items() if k in alive}
        return deliveries

    def _am_delivery(self, event: AlertEvent, target: Target, key: str, now: datetime) -> Delivery:
        body = json.dumps(alertmanager.postable_alert(event, self.config.dashboard_url), sort_keys=True)
        return Delivery(key, target.id, target.kind, body, now, now)

    def _delivery(self, event: AlertEvent, target: Target, now: datetime) -> Delivery:
        c = self.config
        payload = (
            alertmanager_payload(event, c.receiver, c.external_url)
            if target.kind == "alertmanager"
            else slack_payload(event, c.external_url)
        )
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        return Delivery(f"{event.key}-{target.id}", target.id, target.kind, body, now, now)

    def deliver_due(self, wait: bool = True) -> DeliveryStats:
        """Serve every receiver not already being served, each in its own thread; with `wait`, wait for them
        and return what happened (without, return at once: outcomes go to the metrics and the log)."""
        futures: list[Future[DeliveryStats]] = []
        if self._closing.is_set():
            return DeliveryStats()
        for target in self.config.targets:
            with self._lock:
                if target.id in self._busy:
                    continue
                self._busy.add(target.id)
            futures.append(self._executor().submit(self._serve, target))
        try:
            stats = self._drop_removed()
        except Exception as exc:  # the outbox's store is down: the next run tries again
            log.warning("could not check the outbox for removed receivers: %s", exc)
            stats = DeliveryStats()
        if wait:
            for future in futures:
                stats.merge(future.result())
        self._observe_backlog()
        return stats

    def close(self, wait: bool = True) -> None:
        """Stop serving; with `wait`, until the requests in flight have ended and been recorded (at most a
        request timeout: a delivery sent but not recorded would be sent again by the next process)."""
        self._closing.set()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                workers = max(1, len(self.config.targets))
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="finmon-deliver")
            return self._pool

    def _serve(self, target: Target) -> DeliveryStats:
        """Claim and send `target`'s due deliveries until none is left or the receiver fails."""
        stats = DeliveryStats()
        limit = AM_BATCH if target.kind == "alertmanager_api" else 1
        try:
            for _ in range(ROUNDS):
                if self._closing.is_set():
                    break
                now = self.clock()
                batch = self.outbox.claim(now, now + self.config.hold, target.id, limit)
                if not batch:
                    break
                done = self._send(target, batch)
                for delivery in done:
                    self.outbox.update(delivery)
                    stats.count(delivery)
                    self._count(delivery)
                if any(d.state == "pending" for d in done):
                    break  # failing now: the next run retries what is due
        except Exception as exc:  # the outbox's store failing, say: the next run tries again
            log.warning("deliveries to %s not attempted: %s: %s", _where(target), type(exc).__name__, exc)
            log.debug("deliveries to %s", _where(target), exc_info=True)
        finally:
            with self._lock:
                self._busy.discard(target.id)
        return stats

    def _drop_removed(self) -> DeliveryStats:
        """Deliveries to receivers no longer configured are dropped (they cannot be delivered)."""
        stats = DeliveryStats()
        now = self.clock()
        for delivery in self.outbox.claim(now, now + self.config.hold, exclude=tuple(self._targets)):
            log.error("delivery %s: its receiver is no longer configured; dropped", delivery.id)
            done = delivery.finished("failed", "receiver no longer configured")
            self.outbox.update(done)
            stats.count(done)
            self._count(done)
        return stats

    def _send(self, target: Target, batch: list[Delivery]) -> list[Delivery]:
        if target.kind == "alertmanager_api":
            body = alertmanager.push_body([d.body for d in batch], self.clock(), self.config.alert_hold)
        else:
            body = batch[0].body.encode()
        what = f"{len(batch)} alert(s)" if target.kind == "alertmanager_api" else f"delivery {batch[0].id}"
        try:
            response = self._post(target, body)
        except httpx.TransportError as exc:  # timeouts, refused or reset connections
            return [self._retry(d, f"{type(exc).__name__}: {exc}", target) for d in batch]
        except DeliveryError as exc:
            log.error("%s to %s not delivered, not retried: %s", what, _where(target), exc)
            return [d.finished("failed", str(exc)) for d in batch]
        if response.is_success:
            log.info("delivered %s to %s", what, _where(target))
            return [d.finished("delivered") for d in batch]
        error = f"HTTP {response.status_code}: {response.text[:500]}"
        if response.status_code >= 500:
            return [self._retry(d, error, target) for d in batch]
        log.error("%s rejected by %s, not retried: %s", what, _where(target), error)
        return [d.finished("failed", error) for d in batch]

    def _post(self, target: Target, body: bytes) -> httpx.Response:
        """POST, following 307/308 (method and body kept) to http(s) URLs, re-signed at each hop."""
        url = target.url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with self._deadlines.within(self.config.request_timeout):
                    response = self.client.post(url, content=body, headers=self._headers(target, body))
            except httpx.InvalidURL as exc:  # httpx parses a redirect's Location as it answers
                raise DeliveryError(f"redirect to a Location that is not an http(s) URL ({exc})") from None
            if not response.is_redirect:
                return response
            location = response.headers.get("location", "")
            if response.status_code not in FOLLOWED:
                raise DeliveryError(
                    f"HTTP {response.status_code} redirect to {location!r}: only 307/308 are followed "
                    "(others would turn the POST into a GET); configure the final URL"
                )
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise DeliveryError(f"HTTP {response.status_code} redirect to {location!r}: not an http(s) URL")
        raise DeliveryError(f"more than {MAX_REDIRECTS} redirects (last to {url!r})")

    def _headers(self, target: Target, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "finmon-alerts"}
        if self.config.secret and target.kind != "alertmanager_api":
            timestamp = int(self.clock().timestamp())
            headers[self.config.timestamp_header] = str(timestamp)
            headers[self.config.signature_header] = sign(self.config.secret, timestamp, body)
        return headers

    def _retry(self, delivery: Delivery, error: str, target: Target) -> Delivery:
        now = self.clock()
        if now - delivery.created_at >= self.config.give_up_after:
            log.error("delivery %s dropped after %d attempts: %s", delivery.id, delivery.attempts + 1, error)
            return delivery.finished("failed", error)
        delays = backoff_delays(self.config.retry_initial, self.config.retry_max, rng=self.rng)
        delay = next(itertools.islice(delays, delivery.attempts, None))
        log.warning("delivery %s to %s failed (%s); retry in %.1fs", delivery.id, _where(target), error, delay)
        return delivery.retried(now + timedelta(seconds=delay), error)

    def _count(self, delivery: Delivery) -> None:
        if self.metrics is None:
            return
        self.metrics.notifications.labels(_outcome(delivery)).inc()
        self.metrics.deliveries.labels(delivery.kind, _outcome(delivery)).inc()

    def _observe_backlog(self) -> None:
        if self.metrics is None:
            return
        try:
            for kind, count in self.outbox.backlog().items():
                self.metrics.backlog.labels(kind).set(count)
        except Exception as exc:  # the store is down: the gauge keeps its last value
            log.warning("could not count the delivery backlog: %s", exc)


def _outcome(delivery: Delivery) -> str:
    return "retrying" if delivery.state == "pending" else delivery.state


def _where(target: Target) -> str:
    """A receiver as logs name it: Slack URLs are secrets, so only their host; others without credentials
    or query (user:password@, ?token=...)."""
    parts = urlsplit(target.url)
    if target.kind == "slack":
        return f"slack ({parts.hostname}, receiver {target.id})"
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
