"""Wiring for `finmon alerts` and `finmon up`: the evaluator and the notifier on an APScheduler scheduler.

service = build_evaluator(alerts, es)   # the alerts and es settings sections, es naming a running cluster
service.start()                         # evaluates every `evaluate_every` s, delivers every `deliver_every` s
service.firing()                        # list[ActiveAlert] for a live view
service.stop()

The app shell builds it from the composed settings (alerts takes only the sections it needs).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from elasticsearch import Elasticsearch

from alerts.es_source import EsCountSource
from alerts.es_store import EsHistory, EsLease, EsOutbox, EsStateStore
from alerts.evaluator import Evaluator
from alerts.indices import AlertIndices
from alerts.metrics import AlertMetrics
from alerts.model import AlertEvent
from alerts.notifier import DeliveryStats, Notifier, NotifierConfig
from alerts.rules import Rules, load_rules
from alerts.settings import AlertSettings
from monitor.settings import ElasticsearchSettings
from monitor.store.es import make_client
from monitor.store.es_setup import ensure_setup_at_start
from monitor.store.mappings import IndexSpec

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


class AlertService:
    """The evaluator and notifier jobs; `firing()` is safe to call from another thread."""

    def __init__(
        self,
        evaluator: Evaluator,
        notifier: Notifier,
        settings: AlertSettings,
        closers: tuple[Callable[[], None], ...] = (),
        metrics: AlertMetrics | None = None,
    ) -> None:
        self.evaluator, self.notifier, self.settings = evaluator, notifier, settings
        self.metrics = metrics or AlertMetrics()
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
                self.metrics.evaluations.labels("error").inc()
                raise
            self.metrics.evaluations.labels("ok").inc()
            for event in events:
                self.metrics.events.labels(event.status).inc()
            self._firing = [ActiveAlert.of(e) for e in self.evaluator.firing()]
        if events:
            self.deliver()
        return events

    def deliver(self) -> DeliveryStats:
        stats = self.notifier.deliver_due()
        notifications = self.metrics.notifications
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
    alerts: AlertSettings,
    es: ElasticsearchSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    http_client: httpx.Client | None = None,
    rules: Rules | None = None,
    es_client: Elasticsearch | None = None,
    metrics: AlertMetrics | None = None,
    setup: Sequence[IndexSpec] | None = None,
) -> AlertService:
    """An AlertService on the Elasticsearch named by `es` (which must be running). `setup`: the indices to
    create or check at start when their templates are missing (default: alerts' own)."""
    clock = clock or (lambda: datetime.now(UTC))
    rules = rules or load_rules(alerts.rules_file)
    indices = AlertIndices(es.alerts_index)
    client = es_client or make_client(es)
    # bounded; one line naming FINMON_ES__URLS when unreachable
    ensure_setup_at_start(client, es, indices.specs() if setup is None else setup)
    http = http_client or httpx.Client(timeout=alerts.request_timeout)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    notifier = Notifier(NotifierConfig.of(alerts), EsOutbox(client, indices.outbox), http, clock)
    evaluator = Evaluator(
        rules,
        EsCountSource(client, es.news_index, alerts.time_field),
        EsStateStore(client, indices.state),
        EsHistory(client, indices.history),
        notifier,
        EsLease(client, indices.state, owner, timedelta(seconds=alerts.lease)),
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
