"""Per-host politeness: a minimum spacing between request starts to one host (pure; the clock is injected)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The host a request goes to (lowercase, without port), the unit politeness is counted in."""
    return (urlsplit(url).hostname or "").lower()


class HostRateLimiter:
    """Hands out start times so requests to one host begin at least `interval` seconds apart.

    `reserve()` books the next free slot and returns how long the caller must wait for it; callers that wait
    in parallel get consecutive slots, so a burst of feeds on one host is spread out, never refused.
    """

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval = interval
        self._clock = clock
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, host: str) -> float:
        """Book a start slot for `host`; returns the seconds to wait before starting (0 when free now)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = start + self.interval
            self._forget_idle(now)
            return start - now

    def _forget_idle(self, now: float) -> None:
        """Drop hosts whose next slot has passed, so the table does not grow with every host ever seen."""
        if len(self._next_slot) > 1024:
            for host in [h for h, slot in self._next_slot.items() if slot <= now]:
                del self._next_slot[host]
