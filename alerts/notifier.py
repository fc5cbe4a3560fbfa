"""Webhook notifier: turns alert events into signed deliveries in the outbox and sends what is due.

Retries 5xx answers, timeouts and connection errors with exponential backoff; a 4xx answer is final (the
receiver rejected the request, sending it again cannot help). Nothing is lost across restarts: deliveries
live in the outbox until delivered, rejected or older than `give_up_after`.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from alerts.model import AlertEvent
from alerts.outbox import Delivery, Outbox, Target
from alerts.payloads import alertmanager_payload, slack_payload
from alerts.settings import AlertSettings
from alerts.signing import sign
from monitor.backoff import backoff_delays

log = logging.getLogger(__name__)


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

    @classmethod
    def of(cls, settings: AlertSettings) -> NotifierConfig:
        targets = [Target(url, "alertmanager") for url in settings.webhook_urls]
        targets += [Target(url, "slack") for url in settings.slack_webhook_urls]
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
        )


@dataclass
class DeliveryStats:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Notifier:
    """Enqueues notifications for every target and delivers due ones over HTTP."""

    def __init__(
        self,
        config: NotifierConfig,
        outbox: Outbox,
        client: httpx.Client,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.client = client
        self.clock = clock
        self.rng = rng or random.Random()
        self._targets = {t.id: t for t in config.targets}

    def enqueue(self, events: Sequence[AlertEvent]) -> list[Delivery]:
        """Store one delivery per event and target (before anything is sent, so nothing can be lost)."""
        now = self.clock()
        deliveries = [self._delivery(event, target, now) for event in events for target in self.config.targets]
        if deliveries:
            self.outbox.add(deliveries)
        return deliveries

    def _delivery(self, event: AlertEvent, target: Target, now: datetime) -> Delivery:
        c = self.config
        payload = (
            alertmanager_payload(event, c.receiver, c.external_url)
            if target.kind == "alertmanager"
            else slack_payload(event, c.external_url)
        )
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        return Delivery(
            id=f"{event.key}-{target.id}",
            target=target.id,
            kind=target.kind,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )

    def deliver_due(self) -> DeliveryStats:
        """One attempt for every delivery that is due; returns what happened."""
        stats = DeliveryStats()
        for delivery in self.outbox.due(self.clock()):
            updated = self._attempt(delivery)
            self.outbox.update(updated)
            if updated.state == "delivered":
                stats.delivered += 1
            elif updated.state == "failed":
                stats.failed += 1
                stats.errors.append(updated.last_error)
            else:
                stats.retrying += 1
        return stats

    def _attempt(self, delivery: Delivery) -> Delivery:
        target = self._targets.get(delivery.target)
        if target is None:
            log.error("delivery %s: its receiver is no longer configured; dropped", delivery.id)
            return delivery.finished("failed", "receiver no longer configured")
        try:
            response = self.client.post(target.url, content=delivery.body.encode(), headers=self._headers(delivery))
        except httpx.TransportError as exc:  # timeouts, refused or reset connections
            return self._retry(delivery, f"{type(exc).__name__}: {exc}")
        if response.is_success:
            log.info("delivered %s (%s)", delivery.id, delivery.kind)
            return delivery.finished("delivered")
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code >= 500:
            return self._retry(delivery, error)
        log.error("delivery %s rejected, not retried: %s", delivery.id, error)
        return delivery.finished("failed", error)

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "finmon-alerts"}
        if self.config.secret:
            timestamp = int(self.clock().timestamp())
            headers[self.config.timestamp_header] = str(timestamp)
            headers[self.config.signature_header] = sign(self.config.secret, timestamp, delivery.body.encode())
        return headers

    def _retry(self, delivery: Delivery, error: str) -> Delivery:
        now = self.clock()
        if now - delivery.created_at >= self.config.give_up_after:
            log.error("delivery %s dropped after %d attempts: %s", delivery.id, delivery.attempts + 1, error)
            return delivery.finished("failed", error)
        delays = backoff_delays(self.config.retry_initial, self.config.retry_max, rng=self.rng)
        delay = next(itertools.islice(delays, delivery.attempts, None))
        log.warning("delivery %s failed (%s); retry in %.1fs", delivery.id, error, delay)
        return delivery.retried(now + timedelta(seconds=delay), error)
