"""The page's HTTP server (stdlib, read-only, GET only): the static page and two JSON answers. Elasticsearch
stays behind it; the browser only ever talks to finmon."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from elastic_transport import TransportError
from elasticsearch import ApiError

from monitor.dashboard import static_dir
from monitor.dashboard.timerange import DEFAULT_RANGE, UnknownRange

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


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, "application/json", json.dumps(value).encode())


def static_reply(root: Path, name: str) -> Reply:
    """A file under `root`, never outside it."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file() or path.suffix not in CONTENT_TYPES:
        return json_reply(404, {"error": "not found"})
    return Reply(200, CONTENT_TYPES[path.suffix], path.read_bytes())


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def host_allowed(host_header: str | None, bind_host: str) -> bool:
    """On a loopback address only loopback names are answered, so a web page that rebinds its own DNS
    name to 127.0.0.1 cannot read the dashboard through the visitor's browser."""
    if bind_host not in LOOPBACK:
        return True
    name = urlsplit(f"//{host_header or ''}").hostname
    return name in LOOPBACK


class Routes:
    """Path -> Reply: `/`, `/static/...`, `/api/charts?range=`, `/api/headlines?range=`."""

    def __init__(
        self, source: Source, refresh: float, default_range: str = DEFAULT_RANGE, bind_host: str = "127.0.0.1"
    ) -> None:
        self.source, self.refresh, self.default_range = source, refresh, default_range
        self.bind_host = bind_host
        self.root = static_dir()

    def answer(self, target: str, host_header: str | None = None) -> Reply:
        if not host_allowed(host_header, self.bind_host):
            return json_reply(403, {"error": "this page answers on loopback names only"})
        parts = urlsplit(target)
        range_name = parse_qs(parts.query).get("range", [self.default_range])[0]
        if parts.path in ("/", "/index.html"):
            return static_reply(self.root, "index.html")
        if parts.path.startswith("/static/"):
            return static_reply(self.root, parts.path.removeprefix("/static/"))
        if parts.path == "/api/config":
            return json_reply(200, {"refresh": self.refresh, "range": self.default_range})
        if parts.path in ("/api/charts", "/api/headlines"):
            return self._api(parts.path.removeprefix("/api/"), range_name)
        return json_reply(404, {"error": "not found"})

    def _api(self, what: str, range_name: str) -> Reply:
        try:
            answer = self.source.charts(range_name) if what == "charts" else self.source.headlines(range_name)
        except UnknownRange as exc:
            return json_reply(400, {"error": str(exc)})
        except (ApiError, TransportError) as exc:
            log.warning("dashboard: Elasticsearch failed: %s", exc)
            return json_reply(502, {"error": f"Elasticsearch: {exc}"})
        return json_reply(200, answer)


def handler_for(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = routes.answer(self.path, self.headers.get("Host"))
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("dashboard: " + format, *args)

    return Handler


@contextlib.contextmanager
def serving(routes: Routes, host: str, port: int) -> Iterator[str]:
    """The page served in a background thread; yields its URL (port 0 picks a free one)."""
    server = ThreadingHTTPServer((host, port), handler_for(routes))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="finmon-dashboard", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
