"""What the page shows, read from Elasticsearch through the shipped Kibana objects (a thin adapter)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from monitor.dashboard.specs import (
    Target,
    headline_rows,
    headlines_request,
    index_names,
    model_rows,
    models_request,
    resolve,
    vega_panels,
)
from monitor.dashboard.timerange import Window, window
from monitor.kibana import shipped
from monitor.kibana.objects import parse_ndjson

log = logging.getLogger(__name__)


def shipped_objects() -> list[dict[str, Any]]:
    return parse_ndjson(shipped().read_text(encoding="utf-8"))


class DashboardData:
    """The charts (Vega-Lite specs with their data inlined) and the latest negative headlines for a range
    ending at the injected clock's now."""

    def __init__(
        self,
        client: Elasticsearch,
        target: Target,
        clock: Callable[[], datetime],
        objects: list[dict[str, Any]] | None = None,
    ) -> None:
        self.client, self.target, self.clock = client, target, clock
        self.objects = objects if objects is not None else shipped_objects()
        self.panels = vega_panels(self.objects)
        self.indices = index_names(self.objects, target)

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request; an index that does not exist yet (no alert ever recorded) reads as empty."""
        try:
            return dict(self.client.search(index=index, body=body))
        except NotFoundError:
            return {}

    def _meta(self, win: Window) -> dict[str, Any]:
        start, end = win.bounds
        return {"range": win.name, "start": start, "end": end, "interval": win.interval}

    def charts(self, range_name: str) -> dict[str, Any]:
        win = window(range_name, self.clock())
        panels = [
            {"id": p.id, "title": p.title, "spec": resolve(p.spec, win, self.indices, self.target, self.search)}
            for p in self.panels
        ]
        return {**self._meta(win), "panels": panels}

    def models(self, range_name: str) -> dict[str, Any]:
        """Which models scored the news of the range: name, version, content hash, how many items, last one."""
        win = window(range_name, self.clock())
        body = models_request(win, self.target)
        return {**self._meta(win), "models": model_rows(self.search(self.target.news_index, body))}

    def headlines(self, range_name: str) -> dict[str, Any]:
        win = window(range_name, self.clock())
        index, body = headlines_request(self.objects, win, self.target)
        return {**self._meta(win), "headlines": headline_rows(self.search(index, body), self.target.time_field)}
