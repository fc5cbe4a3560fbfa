"""Fixtures for the ingest tests: the loopback feed server and settings with short timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app.settings import Settings
from monitor.ingest.scrape_settings import ScrapeSettings

from .feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def scrape_settings(tmp_path: Path) -> ScrapeSettings:
    """Short timeouts and no politeness delay, so failure cases finish in well under a second."""
    return ScrapeSettings(
        connect_timeout=0.5,
        read_timeout=0.5,
        total_timeout=5.0,
        host_interval=0.0,
        max_bytes=64_000,
        workers=4,
        interval=0.2,
        jitter=0.0,
    )


@pytest.fixture
def settings_for_scrape(tmp_path: Path, scrape_settings: ScrapeSettings) -> Settings:
    return Settings(data_dir=tmp_path / "data", scrape=scrape_settings)
