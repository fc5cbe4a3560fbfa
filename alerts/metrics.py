"""The alert service's Prometheus series, registered on the process's registry (the app shell's)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class AlertMetrics:
    """Evaluator runs, alert state changes and webhook deliveries, each counted by outcome."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.evaluations = Counter(
            "finmon_alert_evaluations", "alert evaluator runs by outcome", ["outcome"], registry=r
        )
        self.events = Counter("finmon_alert_events", "alert state changes by status", ["status"], registry=r)
        self.notifications = Counter(
            "finmon_alert_notifications", "webhook deliveries by outcome", ["outcome"], registry=r
        )
