"""HTTP fetching for feeds and pages: conditional GET, size cap while streaming, timeouts, bounded redirects.

Every failure becomes a FetchError with a short `kind` (dns, connect, timeout, http_status, redirects,
oversize, content_type, protocol) so the scheduler can log it with the URL, count it and carry on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from monitor.deadline import Deadlines, install
from monitor.ingest.politeness import HostRateLimiter, host_of
from monitor.ingest.scrape_settings import ScrapeSettings

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "text/plain",  # some servers label every static file so
    "application/octet-stream",
)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml")
CHUNK = 65536


class FetchError(Exception):
    """A fetch that produced no usable body; `kind` is the counter it is filed under."""

    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"{kind}: {url}: {detail}")
        self.kind = kind
        self.url = url
        self.detail = detail


@dataclass(frozen=True)
class Validators:
    """What the server said about its copy, sent back so an unchanged feed costs a 304."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchResult:
    """A response: `body` is None for 304 Not Modified."""

    url: str
    status: int
    body: bytes | None
    content_type: str
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class HostGate:
    """At most `concurrency` requests in flight per host, started at least the limiter's interval apart."""

    def __init__(self, concurrency: int, limiter: HostRateLimiter, sleep: Callable[[float], None]) -> None:
        self._concurrency = concurrency
        self._limiter = limiter
        self._sleep = sleep
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def enter(self, url: str) -> Iterator[None]:
        host = host_of(url)
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self._concurrency))
        with slot:
            delay = self._limiter.reserve(host)
            if delay > 0:
                self._sleep(delay)
            yield


class Fetcher:
    """One pooled httpx client shared by all feeds; thread-safe."""

    def __init__(self, settings: ScrapeSettings, gate: HostGate | None = None) -> None:
        self.settings = settings
        self.gate = gate or HostGate(
            settings.host_concurrency, HostRateLimiter(settings.host_interval, time.monotonic), time.sleep
        )
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self.deadlines = Deadlines()
        install(self.client, self.deadlines)

    def close(self) -> None:
        self.client.close()

    def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        accept: str = FEED_ACCEPT,
        allowed_types: tuple[str, ...] = FEED_TYPES,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET the URL politely; raises FetchError for anything but a usable body or a 304."""
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        total, started = self.settings.total_timeout, self.deadlines.clock()
        try:
            with (
                self.gate.enter(url),
                self.deadlines.within(total),
                self.client.stream("GET", url, headers=headers) as response,
            ):
                return self._read(url, response, allowed_types, max_bytes or self.settings.max_bytes)
        except httpx.TimeoutException as exc:
            if self.deadlines.clock() - started >= total:
                raise FetchError("timeout", url, f"took longer than {total:g}s in all") from exc
            raise _classify(url, exc) from exc
        except httpx.HTTPError as exc:
            raise _classify(url, exc) from exc

    def _read(self, url: str, response: httpx.Response, allowed: tuple[str, ...], max_bytes: int) -> FetchResult:
        validators = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        final_url = str(response.url)
        if response.status_code == 304:
            return FetchResult(final_url, 304, None, content_type, validators)
        if response.status_code >= 400 or response.status_code < 200:
            raise FetchError("http_status", url, f"HTTP {response.status_code}")
        mislabelled_feed = allowed == FEED_TYPES and content_type in HTML_TYPES
        if content_type and content_type not in allowed and not mislabelled_feed:
            raise FetchError("content_type", url, f"unexpected Content-Type {content_type!r}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError("oversize", url, f"Content-Length {declared} exceeds {max_bytes} bytes")
        body = self._read_capped(url, response, max_bytes)
        if mislabelled_feed and not looks_like_xml_feed(body):
            raise FetchError("content_type", url, f"unexpected Content-Type {content_type!r} (an HTML page)")
        return FetchResult(final_url, response.status_code, body, content_type, validators)

    def _read_capped(self, url: str, response: httpx.Response, max_bytes: int) -> bytes:
        """Read the decoded body chunk by chunk; stop (and drop the connection) past the cap. The fetch's
        deadline reaches the socket reads (`monitor.deadline`)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in _decoded(url, response):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError("oversize", url, f"body exceeds {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _decoded(url: str, response: httpx.Response) -> Iterator[bytes]:
    """The body decoded in bounded pieces: a small gzip bomb cannot expand into memory before the cap sees it."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw(CHUNK)
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError("protocol", url, f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # 32: accept a gzip or a zlib header
    try:
        for raw in response.iter_raw(CHUNK // 4):
            data = raw
            while data:
                yield inflater.decompress(data, CHUNK)
                data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as exc:
        raise FetchError("protocol", url, f"undecodable {encoding} body: {exc}") from None


def looks_like_xml_feed(body: bytes) -> bool:
    """Some servers label RSS as text/html: accept such a body only when it starts like a feed."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf"))


def _classify(url: str, exc: httpx.HTTPError) -> FetchError:
    """Map an httpx error to a FetchError kind."""
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError("redirects", url, str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", url, type(exc).__name__)
    if isinstance(exc, httpx.ConnectError):
        return FetchError("dns" if _is_dns_failure(exc) else "connect", url, str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.DecodingError):
        return FetchError("protocol", url, f"undecodable body: {exc}")
    return FetchError("protocol", url, str(exc) or type(exc).__name__)


def _is_dns_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return "name or service not known" in str(exc).lower() or "nodename nor servname" in str(exc).lower()
