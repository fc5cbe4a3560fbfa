"""The page and the review queue wired to their settings sections: which indices, which time field, which
clock; served on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from elasticsearch import Elasticsearch
from prometheus_client import CollectorRegistry

from monitor.dashboard.alerts_view import AlertsView, alerts_route
from monitor.dashboard.data import DashboardData
from monitor.dashboard.health_view import HealthView, Remote, fixed, health_route
from monitor.dashboard.page_routes import Routes, serve_dashboard
from monitor.dashboard.review import ReviewData
from monitor.dashboard.review_routes import ReviewRoutes
from monitor.dashboard.specs import Target
from monitor.kibana.objects import NEWS_TIME
from monitor.labels.files import LabelNames
from monitor.news.schemas import SENTIMENT_LABELS, TOPIC_LABELS
from monitor.stage_settings import DashboardSettings, ElasticsearchSettings


def target_of(es: ElasticsearchSettings, board: DashboardSettings, time_field: str | None = None) -> Target:
    """The configured indices; the time field given, else the setting, else the Kibana panels' own."""
    field = time_field or board.time_field or NEWS_TIME
    return Target(es.news_index, es.alerts_index, field)


def health_of(board: DashboardSettings, registry: CollectorRegistry | None, remotes: Sequence[Remote]) -> HealthView:
    """`finmon up`: its own registry and its worker; else the configured /metrics endpoints."""
    configured = [Remote(f"metrics {n + 1}", fixed(url)) for n, url in enumerate(board.metrics_urls)]
    return HealthView(registry, [*remotes, *configured])


@contextlib.contextmanager
def dashboard(
    board: DashboardSettings,
    es: ElasticsearchSettings,
    client: Elasticsearch,
    clock: Callable[[], datetime],
    *,
    alertmanager_urls: Sequence[str] = (),
    time_field: str | None = None,
    port: int | None = None,
    registry: CollectorRegistry | None = None,
    remotes: Sequence[Remote] = (),
) -> Iterator[str]:
    """Serve the page until the block ends; yields its URL. `registry` and `remotes`: where the health strip
        reads finmon's own metrics beside FINMON_DASHBOARD__METRICS_URLS; `alertmanager_urls`: the Alertmanagers
    whose silences the alerts panel shows (FINMON_ALERTS__ALERTMANAGER_URLS)."""
    target = target_of(es, board, time_field)
    data = DashboardData(client, target, clock)
    review = ReviewData(client, target, es.labels_index, clock)
    names = LabelNames(SENTIMENT_LABELS, TOPIC_LABELS)
    alerts = AlertsView(data.search, target.alerts_index, clock, alertmanager_urls)
    health = health_of(board, registry, remotes)
    extra = {
        **ReviewRoutes(review, names, board.host).routes(),
        "/api/alerts": alerts_route(alerts, board.range),
        "/api/health": health_route(health),
    }
    routes = Routes(data, board.refresh, board.range, board.host, extra=extra)
    try:
        with serve_dashboard(routes, board.host, board.port if port is None else port) as url:
            yield url
    finally:
        alerts.fetcher.close()
        health.fetcher.close()
