"""The alert service on the composed settings: alerts' sections, the process's metrics and every index
set up at start (`finmon alerts`, `finmon up`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerts import alert_service
from alerts.alert_service import AlertService
from alerts.alert_settings import AlertSettings
from alerts.rules import Rules
from monitor.app.indices import index_specs
from monitor.app.settings import Settings
from monitor.telemetry.series import Metrics


def alert_service_for(
    settings: Settings,
    *,
    rules: Rules | None = None,
    clock: Callable[[], datetime] | None = None,
    metrics: Metrics | None = None,
) -> AlertService:
    """An AlertService on the Elasticsearch of `settings.es` (which must be running). `clock` is the news time
    judged (a demo's replay clock); deliveries are signed, retried and given endsAt in real time."""
    return alert_service.build_alert_service(
        with_dashboard_url(settings),
        settings.es,
        rules=rules,
        clock=clock,
        metrics=metrics.alerts if metrics is not None else None,
        setup=index_specs(settings.es),
        wall_clock=lambda: datetime.now(UTC),
    )


def with_dashboard_url(settings: Settings) -> AlertSettings:
    """The alerts section with its dashboard link pointing at this installation's page (host and port of
    FINMON_DASHBOARD__*) unless FINMON_ALERTS__DASHBOARD_URL says otherwise."""
    alerts, page = settings.alerts, settings.dashboard
    if "dashboard_url" in alerts.model_fields_set or page.port == 0:
        return alerts
    host = "localhost" if page.host in ("127.0.0.1", "0.0.0.0", "::", "") else page.host
    host = f"[{host}]" if ":" in host else host
    return alerts.model_copy(update={"dashboard_url": f"http://{host}:{page.port}"})
