"""A real webhook receiver for the alerts tests: scripted answers, every signature verified, every answer kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.signatures import verify

SECRET = "test-secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int = 0  # what the receiver answered (0: it never answered, the client had gone)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver that answers with scripted status codes and verifies every signature."""

    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order; 200 once exhausted
    requests: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # when set: requests wait on it (to make the client time out)
    clock: Callable[[], datetime] | None = None  # the receiver's clock for the signature's freshness check
    location: str = ""  # the Location header of 3xx answers
    hold_for: float = 5.0  # seconds a held request waits at most

    def answered(self, status: int = 200) -> list[Received]:
        """The requests it answered with `status` (the client got the answer)."""
        return [r for r in self.requests if r.status == status]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = verify(
                SECRET,
                headers.get("x-finmon-timestamp", ""),
                body,
                headers.get("x-finmon-signature", ""),
                now=receiver.clock().timestamp() if receiver.clock else 0.0,
            )
            received = Received(self.path, headers, body, ok)
            receiver.requests.append(received)
            if receiver.hold is not None and not receiver.hold.wait(receiver.hold_for):
                self.close_connection = True
                return  # never answers: the client timed out
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            try:
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")
            except OSError:
                return  # the client had gone
            received.status = status

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def start_receiver(path: str = "/hook") -> tuple[Receiver, ThreadingHTTPServer]:
    """A receiver on a free loopback port, served by a background thread until `server.shutdown()`."""
    box: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _handler(box[0])(*a))
    server.daemon_threads = True
    box.append(Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}"))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return box[0], server
