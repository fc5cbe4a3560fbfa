"""Optional article-body fetch for title-only feeds: robots.txt first, then trafilatura's main-text extraction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from monitor.ingest.fetch import HTML_TYPES, Fetcher, FetchError

log = logging.getLogger(__name__)

ROBOTS_TTL = 6 * 3600.0
ROBOTS_MAX_BYTES = 512_000
EXTRACT_HINT = "article body fetching needs trafilatura: pip install 'finmon[extract]'"


class ExtractUnavailable(RuntimeError):
    """trafilatura is not installed."""


def load_extractor() -> Callable[[bytes, str], str | None]:
    """trafilatura's extract(html, url) → main text; raises ExtractUnavailable naming the extra to install."""
    try:
        import trafilatura
    except ImportError:
        raise ExtractUnavailable(EXTRACT_HINT) from None

    def extract(html: bytes, url: str) -> str | None:
        return trafilatura.extract(html, url=url, include_comments=False, include_tables=False, favor_precision=True)

    return extract


class RobotsCache:
    """robots.txt per origin, cached for hours. RFC 9309: 4xx means no rules; 5xx or unreachable means stay out."""

    def __init__(self, fetcher: Fetcher, clock: Callable[[], float] = time.monotonic, ttl: float = ROBOTS_TTL) -> None:
        self.fetcher = fetcher
        self._clock = clock
        self.ttl = ttl
        self._rules: dict[str, tuple[float, RobotFileParser | bool]] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        origin = _origin(url)
        with self._lock:
            cached = self._rules.get(origin)
        if cached is None or self._clock() - cached[0] > self.ttl:
            cached = (self._clock(), self._load(origin))
            with self._lock:
                self._rules[origin] = cached
        rules = cached[1]
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(self.fetcher.settings.user_agent, url)

    def _load(self, origin: str) -> RobotFileParser | bool:
        try:
            result = self.fetcher.fetch(
                origin + "/robots.txt", accept="text/plain", allowed_types=("text/plain",), max_bytes=ROBOTS_MAX_BYTES
            )
        except FetchError as exc:
            client_error = exc.kind == "http_status" and exc.detail.startswith("HTTP 4")
            log.info("robots.txt of %s: %s (%s)", origin, exc.detail, "no rules" if client_error else "stay out")
            return client_error
        parser = RobotFileParser()
        parser.parse((result.body or b"").decode("utf-8", "replace").splitlines())
        return parser


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class BodyFetcher:
    """Fetches and extracts an article's main text when robots.txt allows it; None on any failure."""

    def __init__(self, fetcher: Fetcher, robots: RobotsCache, extract: Callable[[bytes, str], str | None]) -> None:
        self.fetcher = fetcher
        self.robots = robots
        self.extract = extract

    def text(self, url: str) -> str | None:
        if not self.robots.allowed(url):
            log.info("robots.txt disallows %s", url)
            return None
        try:
            result = self.fetcher.fetch(url, accept="text/html", allowed_types=HTML_TYPES)
        except FetchError as exc:
            log.info("article body not fetched: %s", exc)
            return None
        return self.extract(result.body or b"", result.url) or None
