"""Whether a stream worker is making progress (pure, clock injected): the /healthz verdict.

Unhealthy when the worker has failed, when a batch has been in progress longer than the stall timeout,
or when messages are waiting (lag > 0) and no batch has started for that long.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Progress:
    """Batches in flight, the last time one started, the lag last seen, and a failure if any."""

    def __init__(self, stall_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_timeout = stall_timeout
        self.clock = clock
        self.in_flight: deque[float] = deque()
        self.last_start = clock()
        self.lag = 0
        self.failure: BaseException | None = None

    def started(self) -> None:
        self.last_start = self.clock()
        self.in_flight.append(self.last_start)

    def finished(self) -> None:
        if self.in_flight:
            self.in_flight.popleft()

    def failed(self, exc: BaseException) -> None:
        self.failure = exc

    def observe_lag(self, lag: int) -> None:
        self.lag = lag

    def problem(self) -> str | None:
        """Why the worker is unhealthy, or None."""
        now = self.clock()
        if self.failure is not None:
            return f"failed: {type(self.failure).__name__}"
        if self.in_flight and now - self.in_flight[0] > self.stall_timeout:
            return f"a batch has been in progress for {now - self.in_flight[0]:.0f} s"
        if self.lag > 0 and not self.in_flight and now - self.last_start > self.stall_timeout:
            return f"{self.lag} messages waiting and no batch for {now - self.last_start:.0f} s"
        return None

    def healthy(self) -> bool:
        return self.problem() is None
