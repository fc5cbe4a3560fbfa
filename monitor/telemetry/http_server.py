"""The one small HTTP server finmon runs (stdlib): a route function from `Request` to `Reply`, served in
background threads. It serves the dashboard page and each process's /metrics and /healthz.

Hardened for endpoints that anything on the machine can connect to: a bounded number of handler threads
(a connection over the cap gets a 503 at once instead of a thread), a socket timeout per connection (an
idle or half-open connection lets go of its thread), a deadline for a whole request, bodies only with a
Content-Length under a limit, JSON errors, and headers that keep pages out of frames and away from inline or
foreign script.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.stage_settings import SettingsError

log = logging.getLogger(__name__)

# Scripts only from finmon itself (Vega runs on its AST interpreter, so no eval either); styles from
# finmon plus inline ones (vega-embed and vega-tooltip inject stylesheets); nothing may frame the page.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_BODY = 16 * 1024  # a label is a few hundred bytes
MAX_HANDLERS = 32  # concurrent connections served; more get a 503 at once
IDLE_TIMEOUT = 10.0  # seconds a connection may stay silent (request line, headers, body)
REQUEST_DEADLINE = 30.0  # seconds for a whole request to arrive, however it trickles in


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Request:
    """What a route sees: method, path, query, headers (lower-case names) and the body read so far."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def query(self, name: str, default: str) -> str:
        return parse_qs(urlsplit(self.target).query).get(name, [default])[0]


Route = Callable[[Request], Reply]


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, "application/json", json.dumps(value).encode())


def error_reply(status: int, message: str) -> Reply:
    return json_reply(status, {"error": message, "status": status})


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def content_length(headers: Mapping[str, str], limit: int) -> int:
    """The declared body size; chunked or oversized bodies are refused before anything is read."""
    if headers.get("transfer-encoding"):
        raise BodyError(411, "send the body with a Content-Length (no chunked encoding)")
    raw = headers.get("content-length")
    if raw is None:
        return 0
    if not raw.strip().isdigit():
        raise BodyError(400, f"bad Content-Length {raw[:40]!r}")
    size = int(raw)
    if size > limit:
        raise BodyError(413, f"request body over {limit} bytes")
    return size


class DeadlineReader:
    """The request's input with a total deadline: each read waits at most the idle timeout and never past
    the deadline, so a client trickling one byte at a time cannot hold a handler thread for long."""

    def __init__(self, sock: socket.socket, idle: float, total: float, clock: Callable[[], float] = time.monotonic):
        self.sock, self.idle, self.clock = sock, idle, clock
        self.deadline = clock() + total
        self.buffer = b""

    def _fill(self) -> bool:
        left = self.deadline - self.clock()
        if left <= 0:
            raise TimeoutError("request took too long")
        self.sock.settimeout(min(self.idle, left))
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit) and self._fill():
            pass
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        end = end if limit < 0 else min(end, limit)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        """The socket is the server's to close (shutdown_request)."""
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.buffer) < size) and self._fill():
            pass
        size = len(self.buffer) if size < 0 else size
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def handler_for(
    answer: Route, name: str, idle_timeout: float, max_body: int, request_deadline: float = REQUEST_DEADLINE
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = idle_timeout  # socket timeout for every read: idle connections let go of the thread
        server_version = "finmon"

        def setup(self) -> None:
            super().setup()
            self.rfile.close()  # the buffered file stdlib made; reads go through the deadline instead
            # a TimeoutError from it ends the request like an idle one (BaseHTTPRequestHandler closes it)
            self.rfile = DeadlineReader(self.connection, idle_timeout, request_deadline)  # type: ignore[assignment]

        default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line and headers
        sys_version = ""

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = self.rfile.read(content_length(headers, max_body))
            except BodyError as exc:
                self.close_connection = True
                return self._send(error_reply(exc.status, str(exc)))
            self._send(answer(Request(method, self.path, headers, body)))

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """Protocol errors (bad request line, unknown method, headers too long) as JSON too."""
            self.close_connection = True
            text = message or HTTPStatus(code).phrase
            with contextlib.suppress(OSError):
                self._send(error_reply(code, text))

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(name + ": " + format, *args)

    return Handler


BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b'Retry-After: 1\r\n\r\n{"error": "too many open connections, try again", "status": 503}'
)


def handler_thread(name: str) -> str:
    """The name of a server's handler threads (findable in a thread dump, and by the tests)."""
    return f"finmon-{name}-handler"


class BoundedServer(ThreadingHTTPServer):
    """A threading server with at most `max_handlers` handler threads at a time."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_handlers: int, name: str
    ) -> None:
        self.slots = threading.BoundedSemaphore(max_handlers)
        self.handler_thread = handler_thread(name)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        threading.current_thread().name = self.handler_thread  # findable in a thread dump (and by the tests)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def _refuse(self, request: socket.socket) -> None:
        with contextlib.suppress(OSError):
            request.settimeout(0.5)
            request.sendall(BUSY)
        self.shutdown_request(request)


@dataclass(frozen=True)
class Listening:
    """Where a server listens (the bound port, when asked for port 0)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"


@contextlib.contextmanager
def serve_routes(
    answer: Route,
    host: str,
    port: int,
    *,
    name: str,
    port_setting: str,
    idle_timeout: float = IDLE_TIMEOUT,
    max_handlers: int = MAX_HANDLERS,
    max_body: int = MAX_BODY,
    request_deadline: float = REQUEST_DEADLINE,
) -> Iterator[Listening]:
    """`answer` served in a background thread named `finmon-<name>` until the block ends (port 0 picks a free
    one); a port that cannot be bound is a settings error naming `port_setting`."""
    handler = handler_for(answer, name, idle_timeout, max_body, request_deadline)
    try:
        server = BoundedServer((host, port), handler, max_handlers, name)
    except OSError as exc:
        raise SettingsError(
            f"{port_setting}: cannot listen on {host}:{port}: {exc.strerror or exc}"
            " (another finmon process? give each its own port, or 0 for any free one)"
        ) from None
    thread = threading.Thread(target=server.serve_forever, name=f"finmon-{name}", daemon=True)
    thread.start()
    try:
        yield Listening(host, int(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
