"""The page's HTTP server over a real loopback socket, with a stand-in data source (no Elasticsearch)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError

from monitor.dashboard.page_routes import Routes, host_allowed, serve_dashboard
from monitor.dashboard.timerange import RANGES, UnknownRange
from monitor.telemetry.http_server import DeadlineReader, handler_thread, serve_routes
from tests.helpers import wait_for


class Answers:
    """A Source answering from memory; `fail` makes the next call raise like an unreachable cluster."""

    def __init__(self) -> None:
        self.fail: Exception | None = None
        self.asked: list[str] = []

    def charts(self, range_name: str) -> dict[str, Any]:
        return self._answer("charts", range_name)

    def headlines(self, range_name: str) -> dict[str, Any]:
        return self._answer("headlines", range_name)

    def models(self, range_name: str) -> dict[str, Any]:
        return self._answer("models", range_name)

    def _answer(self, what: str, range_name: str) -> dict[str, Any]:
        self.asked.append(f"{what} {range_name}")
        if self.fail is not None:
            raise self.fail
        if range_name not in RANGES:
            raise UnknownRange(range_name)
        return {"what": what, "range": range_name}


@pytest.fixture
def page() -> Iterator[tuple[httpx.Client, Answers]]:
    answers = Answers()
    routes = Routes(answers, refresh=12.0, default_range="7d")
    with serve_dashboard(routes, "127.0.0.1", 0) as url, httpx.Client(base_url=url) as client:
        yield client, answers


def test_page_static_files_and_config(page: tuple[httpx.Client, Answers]) -> None:
    client, _ = page
    index = client.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert "static/vendor/vega.min.js" in index.text and "static/app.js" in index.text
    assert 'href="review"' in index.text  # the review queue is linked from the main page
    for name in ("app.js", "style.css", "vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js"):
        assert client.get(f"/static/{name}").status_code == 200, name
    assert client.get("/api/config").json() == {"refresh": 12.0, "range": "7d"}


def test_api_answers_for_the_asked_or_default_range(page: tuple[httpx.Client, Answers]) -> None:
    client, answers = page
    assert client.get("/api/charts?range=1h").json() == {"what": "charts", "range": "1h"}
    assert client.get("/api/headlines").json() == {"what": "headlines", "range": "7d"}
    assert answers.asked == ["charts 1h", "headlines 7d"]


def test_refusals(page: tuple[httpx.Client, Answers]) -> None:
    client, answers = page
    assert client.get("/api/charts?range=2d").status_code == 400
    assert client.get("/static/../server.py").status_code == 404
    assert client.get("/static/%2e%2e/server.py").status_code == 404
    assert client.get("/static/vendor/README.md").status_code == 404  # only page assets are served
    assert client.get("/_search").status_code == 404  # nothing of Elasticsearch is reachable through it
    refused = client.post("/api/charts")  # read-only: GET only
    assert refused.status_code == 405 and "not allowed" in refused.json()["error"]
    assert client.request("PATCH", "/api/charts").json() == {"error": "Unsupported method ('PATCH')", "status": 501}
    answers.fail = UnknownRange("x")
    assert client.get("/api/charts").status_code == 400


def test_an_elasticsearch_failure_is_a_502_with_the_reason(page: tuple[httpx.Client, Answers]) -> None:
    client, answers = page
    meta = type("Meta", (), {"status": 503, "headers": {}})()
    answers.fail = ApiError("unavailable", meta, {"error": "down"})  # type: ignore[arg-type]
    reply = client.get("/api/charts")
    assert reply.status_code == 502 and "Elasticsearch" in reply.json()["error"]


def test_only_loopback_names_are_answered_on_loopback(page: tuple[httpx.Client, Answers]) -> None:
    client, _ = page
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/", headers={"Host": "localhost:8050"}).status_code == 200
    assert host_allowed("[::1]:8050", "127.0.0.1") and not host_allowed(None, "127.0.0.1")
    assert host_allowed("finmon.internal:8050", "0.0.0.0")  # a deliberate non-loopback bind answers any name


def test_every_answer_carries_the_security_headers(page: tuple[httpx.Client, Answers]) -> None:
    client, _ = page
    for path in ("/", "/static/app.js", "/api/config", "/nowhere"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_bodies_need_a_small_declared_length(page: tuple[httpx.Client, Answers]) -> None:
    client, _ = page
    big = client.post("/api/charts", content=b"x" * 20_000)
    assert big.status_code == 413 and big.json()["error"] == "request body over 16384 bytes"
    chunked = client.post("/api/charts", content=iter([b"x"]))  # an iterator is sent chunked
    assert chunked.status_code == 411 and "Content-Length" in chunked.json()["error"]


def raw_request(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_protocol_errors_are_json(page: tuple[httpx.Client, Answers]) -> None:
    client, _ = page
    reply = raw_request(str(client.base_url), b"NONSENSE\r\n\r\n")
    assert reply.startswith(b"HTTP/1.0 400") and b'"error": "Bad request syntax' in reply
    assert b"Content-Security-Policy" in reply


def test_idle_connections_neither_pile_up_threads_nor_lock_the_page_out() -> None:
    """400 connections that never send a byte: at most `max_handlers` threads hold them, the rest are
    answered 503 at once, and once the idle timeout lets go the page answers again."""
    routes = Routes(Answers(), refresh=5.0)

    def handlers() -> int:  # this server's handler threads only (other tests' threads come and go meanwhile)
        return sum(thread.name == handler_thread("dashboard") for thread in threading.enumerate())

    # the idle timeout is long enough for a busy machine to see the 8 handlers before they let go
    with serve_routes(
        routes.answer, "127.0.0.1", 0, name="dashboard", port_setting="PORT", idle_timeout=4.0, max_handlers=8
    ) as at:
        url = at.url
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(400)]
        try:
            wait_for(lambda: handlers() >= 8, 10, "8 handler threads")
            assert handlers() <= 8
            wait_for(lambda: httpx.get(f"{url}api/config", timeout=5).status_code == 200, 30, "the page again")
            assert handlers() <= 8
        finally:
            for sock in idle:
                sock.close()


def test_a_trickling_request_meets_its_deadline() -> None:
    """A client sending a byte now and then never trips the idle timeout; the total deadline stops it."""
    now = [0.0]
    ours, theirs = socket.socketpair()
    with ours, theirs:
        reader = DeadlineReader(ours, idle=5.0, total=30.0, clock=lambda: now[0])
        theirs.sendall(b"GET / HTTP/1.0\r\nHost: loc")
        assert reader.readline(65537) == b"GET / HTTP/1.0\r\n"
        theirs.sendall(b"a")
        now[0] = 29.0
        theirs.sendall(b"lhost\r\n")
        assert reader.readline(65537) == b"Host: localhost\r\n"
        theirs.sendall(b"X-Slow: 1")
        now[0] = 31.0
        with pytest.raises(TimeoutError, match="took too long"):
            reader.readline(65537)


def test_the_deadline_reader_reads_lines_bodies_and_limits() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        reader = DeadlineReader(ours, idle=5.0, total=30.0)
        theirs.sendall(b"0123456789\nbody-bytes")
        assert reader.readline(4) == b"0123"
        assert reader.readline() == b"456789\n"
        assert reader.read(4) == b"body"
        theirs.close()
        assert reader.read() == b"-bytes"
