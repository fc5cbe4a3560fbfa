"""The `scrape` section of finmon's settings (FINMON_SCRAPE__*): feeds, politeness, limits, dedup."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_USER_AGENT = "finmon/0.1 (financial news monitor; polite feed reader; +https://github.com/finmon/finmon)"


class ScrapeSettings(BaseModel):
    """How feeds are polled and how the scraper remembers what it has already sent."""

    model_config = ConfigDict(extra="forbid")

    feeds_file: Path | None = Field(None, description="TOML feeds file; empty = the shipped default list")
    state_path: Path | None = Field(None, description="sqlite dedup and feed state; empty = <data_dir>/ingest/")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=8)
    interval: float = Field(600.0, ge=0.05, description="default seconds between polls of one feed")
    jitter: float = Field(0.1, ge=0, le=1, description="random extra delay, as a fraction of the interval")
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0, description="seconds without a byte before a fetch fails")
    total_timeout: float = Field(60.0, gt=0, description="seconds one fetch may take in all")
    max_bytes: int = Field(5_000_000, ge=1024, description="largest feed or article body read (decoded)")
    max_redirects: int = Field(5, ge=0)
    host_concurrency: int = Field(2, ge=1, description="simultaneous requests to one host")
    host_interval: float = Field(1.0, ge=0, description="seconds between request starts to one host")
    workers: int = Field(8, ge=1, description="feeds polled at the same time")
    fetch_body: bool = Field(False, description="fetch article pages for title-only entries (needs finmon[extract])")
    body_min_chars: int = Field(200, ge=0, description="entries with less text than this get their body fetched")
    dedup_window_hours: float = Field(48.0, gt=0, description="near-duplicates within this window share a story")
    similarity_threshold: float = Field(0.4, gt=0, le=1, description="MinHash Jaccard estimate linking two items")
    seen_max_items: int = Field(500_000, ge=100, description="ids the dedup store keeps, at most")
    seen_ttl_days: float = Field(30.0, gt=0, description="days an id stays in the dedup store")
    max_future_skew: float = Field(3600.0, ge=0, description="seconds a published time may lie ahead of the clock")
    produce_timeout: float = Field(30.0, gt=0, description="seconds to wait for Kafka to acknowledge a poll's items")
