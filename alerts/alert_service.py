"""Wiring for `finmon alerts` and `finmon up`: the evaluator and the notifier on an APScheduler scheduler.

service = build_alert_service(alerts, es, setup=specs, wall_clock=now)  # es naming a running cluster
service.start()  # evaluates every `evaluate_every` s, delivers every `deliver_every` s
service.firing()  # list[ActiveAlert] for a live view
service.stop()

The app shell builds it from the composed settings (alerts takes only the sections it needs).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler

from alerts.alert import AlertEvent
from alerts.alert_indices import AlertIndices
from alerts.alert_settings import AlertSettings
from alerts.es_source import EsCountSource
from alerts.es_store import EsHistory, EsLease, EsOutbox, EsStateStore
from alerts.evaluator import Evaluator
from alerts.notifier import DeliveryStats, Notifier, NotifierConfig
from alerts.rules import Rules, load_rules
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client
from monitor.store.es_setup import ensure_setup_at_start
from monitor.store.mappings import IndexSpec
from monitor.telemetry.alert_series import AlertMetrics

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
        self.metrics = metrics or notifier.metrics or AlertMetrics()
        notifier.metrics = self.metrics
        self._closers = closers
        self._lock = threading.Lock()
        self._firing: list[ActiveAlert] = []
        self._scheduler: BackgroundScheduler | None = None

    def evaluate(self, wait: bool = True) -> list[AlertEvent]:
        """One evaluator run, the firing alerts re-sent to Alertmanagers when due, then an immediate delivery
        run (waited for with `wait`; the scheduled job never waits: evaluation must not wait on receivers)."""
        with self._lock:
            try:
                events = self.evaluator.run_once()
            except Exception:
                self.metrics.evaluations.labels("error").inc()
                raise
            self.metrics.evaluations.labels("ok").inc()
            firing = self.evaluator.firing()
            self._observe(events, len(firing))
            self._firing = [ActiveAlert.of(e) for e in firing]
            pushed = self.notifier.refresh(firing) if self.evaluator.leader else []
        if events or pushed:
            self.deliver(wait)
        return events

    def _observe(self, events: list[AlertEvent], firing: int) -> None:
        for event in events:
            self.metrics.events.labels(event.status).inc()
        self.metrics.last_evaluation.set_to_current_time()
        if self.evaluator.last_end is not None:
            self.metrics.evaluated_until.set(self.evaluator.last_end.timestamp())
        self.metrics.firing.set(firing)

    def deliver(self, wait: bool = True) -> DeliveryStats:
        """Serve every receiver with what is due (counted in the metrics by the notifier)."""
        return self.notifier.deliver_due(wait=wait)

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def firing(self) -> list[ActiveAlert]:
        with self._lock:
            return sorted(self._firing, key=lambda a: a.starts_at)

    def start(self) -> None:
        """Evaluate every `evaluate_every` s and deliver every `deliver_every` s, both starting now."""
        scheduler = BackgroundScheduler(timezone=UTC)
        now = datetime.now(UTC)
        _every(scheduler, lambda: self.evaluate(wait=False), "evaluate", self.settings.evaluate_every, now)
        _every(scheduler, lambda: self.deliver(wait=False), "deliver", self.settings.deliver_every, now)
        scheduler.start()
        self._scheduler = scheduler
        kinds = Counter(t.kind for t in self.notifier.config.targets)
        log.info(
            "alert evaluator started (%d rules, step %s); receivers: %d webhook, %d Slack, %d Alertmanager",
            len(self.evaluator.rules.rules),
            self.evaluator.rules.step,
            kinds["alertmanager"],
            kinds["slack"],
            kinds["alertmanager_api"],
        )

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.notifier.close()
        self.evaluator.lease.release()
        for close in self._closers:
            close()


def _every(
    scheduler: BackgroundScheduler, job: Callable[[], object], name: str, seconds: float, first: datetime
) -> None:
    """Run `job` every `seconds` from `first`, one run at a time (a late run is coalesced, not queued)."""
    scheduler.add_job(
        _guarded(job, name),
        "interval",
        seconds=seconds,
        id=f"alerts-{name}",
        max_instances=1,
        coalesce=True,
        next_run_time=first,
    )


def _guarded(job: Callable[[], object], name: str) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # a failed run is retried by the next one; the scheduler must live on
            log.exception("alert job %s failed", name)

    return run


def build_alert_service(
    alerts: AlertSettings,
    es: ElasticsearchSettings,
    *,
    setup: Sequence[IndexSpec],
    wall_clock: Callable[[], datetime],
    clock: Callable[[], datetime] | None = None,
    rules: Rules | None = None,
    metrics: AlertMetrics | None = None,
) -> AlertService:
    """An AlertService on the Elasticsearch named by `es` (which must be running). `setup`: the indices to
    create or check at start when their templates are missing. `clock` is the news time the evaluator judges
    (a demo's replay clock; default real time); deliveries (signatures, retries, Alertmanager's endsAt) follow
    `wall_clock` (the app shell passes real time, a test its manual clock)."""
    clock = clock or (lambda: datetime.now(UTC))
    rules = rules or load_rules(alerts.rules_file)
    indices = AlertIndices(es.alerts_index)
    client = make_client(es)
    # bounded; one line naming FINMON_ES__URLS when unreachable
    ensure_setup_at_start(client, es, setup)
    http = httpx.Client(timeout=alerts.request_timeout)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    notifier = Notifier(NotifierConfig.of(alerts), EsOutbox(client, indices.outbox), http, wall_clock, metrics=metrics)
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
    return AlertService(evaluator, notifier, alerts, (http.close, client.close), metrics)
