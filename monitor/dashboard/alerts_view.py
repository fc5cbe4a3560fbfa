"""`/api/alerts`: finmon's alert episodes of the range (from the alerts index) with each one's state in every
configured Alertmanager (read server side, so the browser still only talks to finmon). An Alertmanager that
does not answer in time shows as unreachable; the page never waits on it for long nor fails for it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError

from monitor.dashboard.am_state import (
    AmView,
    alerts_request,
    am_alerts,
    display_url,
    in_window,
    latest_episodes,
    merged,
)
from monitor.dashboard.page_routes import es_failure
from monitor.dashboard.remote_fetch import Fetcher, FetchError
from monitor.dashboard.specs import Search
from monitor.dashboard.timerange import DEFAULT_RANGE, UnknownRange, window
from monitor.kibana.objects import ALERTS_TIME
from monitor.telemetry.http_server import Reply, Request, Route, error_reply, json_reply

EVENTS = 500  # newest alert events read per page load (episodes are a few events each)
API = "/api/v2/alerts"


def alerts_url(base: str) -> str:
    """Alertmanager's alerts endpoint from its base URL (or the endpoint itself)."""
    base = base.rstrip("/")
    return base if base.endswith(API) else base + API


class AlertsView:
    """The alerts of a range beside Alertmanager's view; `alertmanagers` empty = Alertmanager not configured."""

    def __init__(
        self,
        search: Search,
        alerts_index: str,
        clock: Callable[[], datetime],
        alertmanagers: Sequence[str] = (),
        fetcher: Fetcher | None = None,
    ) -> None:
        self.search, self.alerts_index, self.clock = search, alerts_index, clock
        self.alertmanagers = list(alertmanagers)
        self.fetcher = fetcher or Fetcher()

    def views(self) -> list[AmView]:
        urls = [alerts_url(url) for url in self.alertmanagers]
        answers = self.fetcher.many(urls, lambda body: am_alerts(json.loads(body)))
        return [_view(display_url(url), answer) for url, answer in zip(self.alertmanagers, answers, strict=True)]

    def answer(self, range_name: str) -> dict[str, Any]:
        win = window(range_name, self.clock())
        start, end = win.bounds
        hits = self.search(self.alerts_index, alerts_request(ALERTS_TIME, end, EVENTS)).get("hits", {}).get("hits", [])
        episodes = [row for row in latest_episodes(hits) if in_window(row, win.start)]
        views = self.views()
        return {
            "range": win.name,
            "start": start,
            "end": end,
            "configured": bool(views),
            "alertmanagers": [view.summary() for view in views],
            "alerts": merged(episodes, views),
        }


def _view(url: str, answer: Any) -> AmView:
    if isinstance(answer, FetchError):
        return AmView(url, error=str(answer))
    return AmView(url, alerts=answer)


def alerts_route(view: AlertsView, default_range: str = DEFAULT_RANGE) -> Route:
    """GET /api/alerts?range=: the answer, a 400 for an unknown range, a 502 when Elasticsearch fails."""

    def route(request: Request) -> Reply:
        if request.method != "GET":
            return error_reply(405, f"{request.method} is not allowed here")
        try:
            return json_reply(200, view.answer(request.query("range", default_range)))
        except UnknownRange as exc:
            return error_reply(400, str(exc))
        except (ApiError, TransportError) as exc:
            return es_failure(exc)

    return route
