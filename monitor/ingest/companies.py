"""The shipped table of major listed companies (data/companies.csv) as a ready TickerExtractor."""

from __future__ import annotations

import functools
from importlib import resources

from monitor.ingest.tickers import Company, TickerExtractor, parse_companies


def load_companies() -> list[Company]:
    """The companies in the shipped CSV table."""
    return parse_companies(resources.files("monitor.ingest").joinpath("data/companies.csv").read_text("utf-8"))


@functools.cache
def default_extractor() -> TickerExtractor:
    """One extractor over the shipped table (compiling the pattern takes a few milliseconds)."""
    return TickerExtractor(load_companies())
