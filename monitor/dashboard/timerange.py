"""The page's time ranges (pure): each a span back from "now" and the histogram interval that suits it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.times import iso

# name: (span, fixed_interval, words for chart titles)
RANGES: dict[str, tuple[timedelta, str, str]] = {
    "1h": (timedelta(hours=1), "5m", "per 5 minutes"),
    "24h": (timedelta(hours=24), "1h", "hourly"),
    "7d": (timedelta(days=7), "3h", "per 3 hours"),
}
DEFAULT_RANGE = "24h"


class UnknownRange(ValueError):
    """A range name the page does not offer."""


@dataclass(frozen=True)
class Window:
    """[start, end) of the charts, the date_histogram interval and how titles name it."""

    name: str
    start: datetime
    end: datetime
    interval: str
    words: str

    @property
    def bounds(self) -> tuple[str, str]:
        return iso(self.start), iso(self.end)


def window(name: str, now: datetime) -> Window:
    """The window called `name` (1h, 24h, 7d) that ends at `now`."""
    if name not in RANGES:
        raise UnknownRange(f"unknown range {name!r}: one of {', '.join(RANGES)}")
    span, interval, words = RANGES[name]
    return Window(name, now - span, now, interval, words)
