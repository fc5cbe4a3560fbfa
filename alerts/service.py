"""Wiring for `finmon alerts` and `finmon up`: the evaluator and the notifier on an APScheduler scheduler.

service = build_evaluator(settings)   # settings pointing at a running Elasticsearch
service.start()                       # evaluates every `evaluate_every` s, delivers every `deliver_every` s
service.firing()                      # list[ActiveAlert] for a live view
service.stop()
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from elasticsearch import Elasticsearch

from alerts.es_source import EsCountSource
from alerts.es_store import EsHistory, EsLease, EsOutbox, EsStateStore
from alerts.evaluator import Evaluator
from alerts.model import AlertEvent
from alerts.notifier import DeliveryStats, Notifier, NotifierConfig
from alerts.outbox import Target
from alerts.rules import Rules, load_rules
from alerts.settings import AlertSettings
from monitor.app.metrics import Metrics
from monitor.app.settings import Settings
from monitor.store.es import make_client
from monitor.store.es_setup import ensure_setup_at_start

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveAlert:
    """A firing alert as a live view shows it."""

    fingerprint: str
    labels: dict[str, str]
    summary: str
    starts_at: datetime
    negative_share: float | None
    baseline_share: float | None
    volume: int | None

    @classmethod
    def of(cls, event: AlertEvent) -> ActiveAlert:
        v = event.values
        volume = v.get("volume")
        return cls(
            event.fingerprint,
            event.labels,
            event.annotations.get("summary", ""),
            event.starts_at,
            v.get("negative_share"),
            v.get("baseline_share"),
            int(volume) if volume is not None else None,
        )


def notifier_config(settings: AlertSettings) -> NotifierConfig:
    targets = [Target(url, "alertmanager") for url in settings.webhook_urls]
    targets += [Target(url, "slack") for url in settings.slack_webhook_urls]
    return NotifierConfig(
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


class AlertService:
    """The evaluator and notifier jobs; `firing()` is safe to call from another thread."""

    def __init__(
        self,
        evaluator: Evaluator,
        notifier: Notifier,
        settings: AlertSettings,
        closers: tuple[Callable[[], None], ...] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.evaluator, self.notifier, self.settings = evaluator, notifier, settings
        self.metrics = metrics or Metrics()
        self._closers = closers
        self._lock = threading.Lock()
        self._firing: list[ActiveAlert] = []
        self._scheduler: BackgroundScheduler | None = None

    def evaluate(self) -> list[AlertEvent]:
        """One evaluator run, then an immediate delivery attempt of what it produced."""
        with self._lock:
            try:
                events = self.evaluator.run_once()
            except Exception:
                self.metrics.alert_evaluations.labels("error").inc()
                raise
            self.metrics.alert_evaluations.labels("ok").inc()
            for event in events:
                self.metrics.alert_events.labels(event.status).inc()
            self._firing = [ActiveAlert.of(e) for e in self.evaluator.firing()]
        if events:
            self.deliver()
        return events

    def deliver(self) -> DeliveryStats:
        stats = self.notifier.deliver_due()
        notifications = self.metrics.alert_notifications
        notifications.labels("delivered").inc(stats.delivered)
        notifications.labels("retrying").inc(stats.retrying)
        notifications.labels("failed").inc(stats.failed)
        return stats

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def firing(self) -> list[ActiveAlert]:
        with self._lock:
            return sorted(self._firing, key=lambda a: a.starts_at)

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone=UTC)
        now = datetime.now(UTC)
        scheduler.add_job(
            self._guarded(self.evaluate),
            "interval",
            seconds=self.settings.evaluate_every,
            id="alerts-evaluate",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        scheduler.add_job(
            self._guarded(self.deliver),
            "interval",
            seconds=self.settings.deliver_every,
            id="alerts-deliver",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "alert evaluator started (%d rules, step %s)", len(self.evaluator.rules.rules), self.evaluator.rules.step
        )

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.evaluator.lease.release()
        for close in self._closers:
            close()

    @staticmethod
    def _guarded(job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except Exception:  # a failed run is retried by the next one; the scheduler must live on
                log.exception("alert job %s failed", getattr(job, "__name__", job))

        return run


def build_evaluator(
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    http_client: httpx.Client | None = None,
    rules: Rules | None = None,
    es_client: Elasticsearch | None = None,
    metrics: Metrics | None = None,
) -> AlertService:
    """An AlertService on the Elasticsearch named by `settings.es` (which must be running)."""
    alerts: AlertSettings = settings.alerts
    clock = clock or (lambda: datetime.now(UTC))
    rules = rules or load_rules(alerts.rules_file)
    client = es_client or make_client(settings.es)
    ensure_setup_at_start(client, settings.es)  # bounded; one line naming FINMON_ES__URLS when unreachable
    http = http_client or httpx.Client(timeout=alerts.request_timeout)
    base = settings.es.alerts_index
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    notifier = Notifier(notifier_config(alerts), EsOutbox(client, f"{base}-outbox"), http, clock)
    evaluator = Evaluator(
        rules,
        EsCountSource(client, settings.es.news_index, alerts.time_field),
        EsStateStore(client, f"{base}-state"),
        EsHistory(client, base),
        notifier,
        EsLease(client, f"{base}-state", owner, timedelta(seconds=alerts.lease)),
        clock,
        lag=timedelta(seconds=alerts.lag),
        kibana_url=alerts.kibana_url,
    )
    closers: list[Callable[[], None]] = []
    if http_client is None:
        closers.append(http.close)
    if es_client is None:
        closers.append(client.close)
    return AlertService(evaluator, notifier, alerts, tuple(closers), metrics)
