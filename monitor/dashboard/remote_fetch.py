"""The page's own reads of other servers (Alertmanagers, finmon's /metrics endpoints), server side: each
request ends by a short total deadline, all of them at once, and a failure is an answer ("unreachable: ...")
rather than an error of the page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from monitor.deadline import Deadlines, install

TIMEOUT = 2.0  # seconds per read, connect to last byte
MAX_BYTES = 8 * 1024 * 1024  # an answer larger than this is refused, not held in memory


class FetchError(Exception):
    """Why a server could not be read, in a line for the page."""


class Fetcher:
    """GETs with a total deadline per request; `many` reads several URLs concurrently."""

    def __init__(self, timeout: float = TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = timeout
        self.deadlines = Deadlines()
        self.client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, trust_env=False)
        if transport is None:
            install(self.client, self.deadlines)

    def get(self, url: str) -> bytes:
        try:
            with self.deadlines.within(self.timeout), self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise FetchError(f"answer over {MAX_BYTES} bytes")
                return body
        except httpx.TimeoutException:
            raise FetchError(f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(str(exc) or type(exc).__name__) from None

    def many(self, urls: Sequence[str], read: Callable[[bytes], Any]) -> list[Any | FetchError]:
        """`read(body)` of each URL, or the FetchError that stopped it (a `read` that raises ValueError too)."""
        if not urls:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(urls)), thread_name_prefix="finmon-dashboard-fetch") as pool:
            return list(pool.map(lambda url: self._one(url, read), urls))

    def _one(self, url: str, read: Callable[[bytes], Any]) -> Any | FetchError:
        try:
            return read(self.get(url))
        except FetchError as exc:
            return exc
        except (ValueError, RecursionError) as exc:
            return FetchError(f"unreadable answer: {str(exc)[:200]}")

    def close(self) -> None:
        self.client.close()
