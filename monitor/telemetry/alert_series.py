"""The alert service's Prometheus series, registered on the process's registry (`series.Metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    """Evaluator runs and their progress, alert state changes, deliveries by receiver kind and outcome, and
    the delivery backlog (what Prometheus rules watch: evaluator stopped or behind, deliveries failing)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.evaluations = Counter(
            "finmon_alert_evaluations", "alert evaluator runs by outcome", ["outcome"], registry=r
        )
        self.events = Counter("finmon_alert_events", "alert state changes by status", ["status"], registry=r)
        self.notifications = Counter(
            "finmon_alert_notifications", "delivery attempts by outcome (all receivers)", ["outcome"], registry=r
        )
        self.deliveries = Counter(
            "finmon_alert_deliveries",
            "delivery attempts by receiver kind (alertmanager: webhook JSON, alertmanager_api: pushed to an "
            "Alertmanager, slack) and outcome (delivered, retrying, failed)",
            ["kind", "outcome"],
            registry=r,
        )
        self.backlog = Gauge(
            "finmon_alert_outbox_pending", "deliveries waiting in the outbox, by receiver kind", ["kind"], registry=r
        )
        self.last_evaluation = Gauge(
            "finmon_alert_last_evaluation_timestamp_seconds",
            "wall-clock time of the last evaluator run that succeeded",
            registry=r,
        )
        self.evaluated_until = Gauge(
            "finmon_alert_evaluated_until_timestamp_seconds",
            "end of the last step the evaluator judged (news time; behind when it falls back from now)",
            registry=r,
        )
        self.firing = Gauge("finmon_alert_firing", "alerts firing now (as this evaluator sees them)", registry=r)
