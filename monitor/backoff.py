"""Exponential backoff with full jitter (pure; the random source is injected)."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff_delays(
    initial: float, maximum: float, factor: float = 2.0, rng: random.Random | None = None
) -> Iterator[float]:
    """An endless sequence of delays: each drawn in [d/2, d] with d growing by `factor` up to `maximum`."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield rng.uniform(delay / 2, delay)
        delay = min(maximum, delay * factor)
