"""A total deadline for each request, down to the socket (feed fetches, webhook and Alertmanager deliveries).

httpx's timeouts are per operation: a server that trickles one byte every few seconds (in its headers or its body)
never trips a read timeout, and one such feed would hold a scrape run for good (one such receiver, a delivery).
Here every connect, read and write of a request waits at most until that request's deadline, so it fails as a
timeout when it runs out.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx


class Deadlines(threading.local):
    """The deadline of the fetch running on this thread (monotonic seconds), or None outside a fetch."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at: float | None = None

    @contextlib.contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        self.at = self.clock() + seconds
        try:
            yield
        finally:
            self.at = None

    def clamp(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """The operation's timeout, cut to what is left of the deadline; `expired` raised when nothing is."""
        if self.at is None:
            return timeout
        left = self.at - self.clock()
        if left <= 0:
            raise expired("the fetch's total deadline has passed")
        return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadlines: Deadlines) -> None:
        self._inner, self._deadlines = inner, deadlines

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadlines.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadlines.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        timeout = self._deadlines.clamp(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadlines)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every wait cut to the current fetch's deadline."""

    def __init__(self, deadlines: Deadlines, inner: httpcore.NetworkBackend | None = None) -> None:
        self._deadlines, self._inner = deadlines, inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadlines.clamp(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._inner.connect_tcp(host, port, timeout, local_address, socket_options), self._deadlines
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = self._deadlines.clamp(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options), self._deadlines)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: httpx.Client, deadlines: Deadlines) -> None:
    """Put the deadline backend under every transport of `client` (its own and any proxy mounts).

    httpx has no public hook for the network backend; the fetcher's tests (a trickling server) fail if this
    stops reaching the sockets."""
    transports = [client._transport, *client._mounts.values()]
    for transport in filter(None, transports):
        pool = getattr(transport, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            raise RuntimeError(f"cannot put a fetch deadline under {type(transport).__name__}")
        pool._network_backend = DeadlineBackend(deadlines)
