"""A real HTTP server on 127.0.0.1 serving the feed fixtures, with knobs for every failure the scraper meets."""

from __future__ import annotations

import contextlib
import gzip
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain",
}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Route:
    """How the server answers one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering (waits on the server's stop event, so teardown is quick)
    gzip: bool = False
    deflate: bool = False
    endless: bool = False  # stream without Content-Length until the client hangs up
    trickle: float = 0.0  # send the answer one byte every `trickle` seconds, for minutes
    trickle_body_only: bool = False  # headers at once, then the body trickles (else the headers trickle too)
    location: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fixture(cls, name: str, **options: object) -> Route:
        options.setdefault("content_type", CONTENT_TYPES[Path(name).suffix])
        return cls(body=fixture_bytes(name), **options)  # type: ignore[arg-type]


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class FeedServer:
    """ThreadingHTTPServer in a thread; tests set `routes` and read `requests`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self.streamed_bytes = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def entered(self) -> None:
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def left(self) -> None:
        with self._count_lock:
            self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError):  # a client that hung up mid-answer: what some tests want
                    super().handle()

            def finish(self) -> None:
                with contextlib.suppress(ConnectionError):
                    super().finish()

            def do_GET(self) -> None:
                server.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, b"not found", "text/plain")
                    return
                server.entered()
                try:
                    if route.delay and server.stopping.wait(route.delay):
                        return
                    self._answer(route)
                finally:
                    server.left()

            def _answer(self, route: Route) -> None:
                if route.location:
                    self._send(route.status, b"", "text/plain", {"Location": route.location})
                    return
                if self._unchanged(route):
                    self._send(304, b"", route.content_type, self._validators(route))
                    return
                if route.endless:
                    self._stream_forever(route)
                    return
                if route.trickle:
                    self._trickle(route)
                    return
                body, headers = route.body, {**self._validators(route), **route.extra_headers}
                if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
                    body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
                elif route.deflate and "deflate" in self.headers.get("Accept-Encoding", ""):
                    body, headers["Content-Encoding"] = zlib.compress(body), "deflate"
                self._send(route.status, body, route.content_type, headers)

            def _unchanged(self, route: Route) -> bool:
                etag_match = route.etag is not None and self.headers.get("If-None-Match") == route.etag
                date_match = route.last_modified is not None and (
                    self.headers.get("If-Modified-Since") == route.last_modified
                )
                return etag_match or date_match

            @staticmethod
            def _validators(route: Route) -> dict[str, str]:
                headers = {}
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                return headers

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _trickle(self, route: Route) -> None:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                if route.trickle_body_only:
                    self.wfile.write(head + b"Connection: close\r\n\r\n")
                    self.wfile.flush()
                answer = b"<rss>" + b" " * 10_000 if route.trickle_body_only else head + b"X-Pad: " + b"p" * 10_000
                try:
                    for byte in answer:
                        if server.stopping.wait(route.trickle):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass  # the client hung up: what we want
                self.close_connection = True

            def _stream_forever(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<rss>" + b"x" * 65531
                try:
                    while not server.stopping.is_set() and server.streamed_bytes < 256_000_000:
                        self.wfile.write(chunk)
                        server.streamed_bytes += len(chunk)
                except OSError:
                    pass  # the client hung up: what we want
                self.close_connection = True

        return Handler
