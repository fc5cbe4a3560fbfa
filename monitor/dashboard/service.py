"""The page wired to settings: which indices, which time field, which clock; served on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from elasticsearch import Elasticsearch

from monitor.app.settings import Settings
from monitor.dashboard.data import DashboardData
from monitor.dashboard.server import Routes, serving
from monitor.dashboard.specs import Target
from monitor.kibana.objects import NEWS_TIME


def target_of(settings: Settings, time_field: str | None = None) -> Target:
    """The configured indices; the time field given, else the setting, else the Kibana panels' own."""
    field = time_field or settings.dashboard.time_field or NEWS_TIME
    return Target(settings.es.news_index, settings.es.alerts_index, field)


@contextlib.contextmanager
def dashboard(
    settings: Settings,
    client: Elasticsearch,
    clock: Callable[[], datetime],
    *,
    time_field: str | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Serve the page until the block ends; yields its URL."""
    board = settings.dashboard
    data = DashboardData(client, target_of(settings, time_field), clock)
    routes = Routes(data, board.refresh, board.range, board.host)
    with serving(routes, board.host, board.port if port is None else port) as url:
        yield url
