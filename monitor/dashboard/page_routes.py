"""The page's routes: the static pages, the charts' JSON, and the review queue's few write endpoints, served
by finmon's one HTTP server (`monitor.telemetry.http_server`, hardened there). Elasticsearch stays behind it;
the browser only ever talks to finmon, on loopback names only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from elastic_transport import TransportError
from elasticsearch import ApiError

from monitor.dashboard import static_dir
from monitor.dashboard.timerange import DEFAULT_RANGE, UnknownRange
from monitor.telemetry.http_server import (
    Reply,
    Request,
    Route,
    error_reply,
    json_reply,
    serve_routes,
)

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class Source(Protocol):
    def charts(self, range_name: str) -> dict[str, Any]: ...
    def headlines(self, range_name: str) -> dict[str, Any]: ...
    def models(self, range_name: str) -> dict[str, Any]: ...


def static_reply(root: Path, name: str) -> Reply:
    """A file under `root`, never outside it."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file() or path.suffix not in CONTENT_TYPES:
        return error_reply(404, "not found")
    return Reply(200, CONTENT_TYPES[path.suffix], path.read_bytes())


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def host_allowed(host_header: str | None, bind_host: str) -> bool:
    """On a loopback address only loopback names are answered, so a web page that rebinds its own DNS
    name to 127.0.0.1 cannot read the dashboard through the visitor's browser."""
    if bind_host not in LOOPBACK:
        return True
    name = urlsplit(f"//{host_header or ''}").hostname
    return name in LOOPBACK


def es_failure(exc: Exception) -> Reply:
    log.warning("dashboard: Elasticsearch failed: %s", exc)
    return error_reply(502, f"Elasticsearch: {exc}")


class Routes:
    """Request -> Reply: `/`, `/static/...`, `/api/config`, `/api/charts|headlines|models?range=`, and the
    routes of `extra` (the review queue's), all behind the loopback Host check."""

    def __init__(
        self,
        source: Source,
        refresh: float,
        default_range: str = DEFAULT_RANGE,
        bind_host: str = "127.0.0.1",
        extra: Mapping[str, Route] | None = None,
    ) -> None:
        self.source, self.refresh, self.default_range = source, refresh, default_range
        self.bind_host = bind_host
        self.root = static_dir()
        self.extra = dict(extra or {})

    def answer(self, request: Request) -> Reply:
        if not host_allowed(request.headers.get("host"), self.bind_host):
            return error_reply(403, "this page answers on loopback names only")
        path = request.path
        if path in self.extra:
            return self.extra[path](request)
        if request.method != "GET":
            return error_reply(405, f"{request.method} is not allowed here (the page is read-only)")
        if path in ("/", "/index.html"):
            return static_reply(self.root, "index.html")
        if path.startswith("/static/"):
            return static_reply(self.root, path.removeprefix("/static/"))
        if path == "/api/config":
            return json_reply(200, {"refresh": self.refresh, "range": self.default_range})
        if path in ("/api/charts", "/api/headlines", "/api/models"):
            return self._api(path.removeprefix("/api/"), request.query("range", self.default_range))
        return error_reply(404, "not found")

    def _api(self, what: str, range_name: str) -> Reply:
        ask = {"charts": self.source.charts, "headlines": self.source.headlines, "models": self.source.models}[what]
        try:
            return json_reply(200, ask(range_name))
        except UnknownRange as exc:
            return error_reply(400, str(exc))
        except (ApiError, TransportError) as exc:
            return es_failure(exc)


@contextlib.contextmanager
def serve_dashboard(routes: Routes, host: str, port: int) -> Iterator[str]:
    """The page served in a background thread; yields its URL (port 0 picks a free one)."""
    with serve_routes(routes.answer, host, port, name="dashboard", port_setting="FINMON_DASHBOARD__PORT") as at:
        yield at.url
