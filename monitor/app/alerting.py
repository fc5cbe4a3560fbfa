"""The alert service on the composed settings: alerts' sections, the process's metrics and every index
set up at start (`finmon alerts`, `finmon up`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerts.rules import Rules
from alerts.service import AlertService, build_evaluator
from monitor.app.indices import index_specs
from monitor.app.metrics import Metrics
from monitor.app.settings import Settings


def build_alert_service(
    settings: Settings,
    *,
    rules: Rules | None = None,
    clock: Callable[[], datetime] | None = None,
    metrics: Metrics | None = None,
) -> AlertService:
    """An AlertService on the Elasticsearch of `settings.es` (which must be running). `clock` is the news time
    judged (a demo's replay clock); deliveries are signed, retried and given endsAt in real time."""
    return build_evaluator(
        settings.alerts,
        settings.es,
        rules=rules,
        clock=clock,
        metrics=metrics.alerts if metrics is not None else None,
        setup=index_specs(settings.es),
        wall_clock=lambda: datetime.now(UTC),
    )
