"""The feeds to poll: the shipped default list, or a user TOML file that replaces or extends it."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.setting_types import HttpUrl
from monitor.stage_settings import SettingsError


class FeedConfig(BaseModel):
    """One feed: where it is, what to call it, how often to poll it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=256)
    url: HttpUrl
    interval: float | None = Field(None, ge=0.05, description="seconds between polls; empty = scrape.interval")
    language: str | None = Field(None, description="declared language when the feed has none")
    fetch_body: bool | None = Field(None, description="fetch article pages; empty = scrape.fetch_body")
    enabled: bool = True


class FeedsFile(BaseModel):
    """A feeds file: `include_defaults = true` extends the shipped list, otherwise the file replaces it."""

    model_config = ConfigDict(extra="forbid")

    include_defaults: bool = False
    feeds: list[FeedConfig] = Field(default_factory=list)


def _parse(text: str, origin: str) -> FeedsFile:
    try:
        return FeedsFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SettingsError(f"FINMON_SCRAPE__FEEDS_FILE: {origin}: {exc}") from None


def default_feeds() -> list[FeedConfig]:
    """The shipped list of public financial news feeds."""
    text = resources.files("monitor.ingest").joinpath("feeds_default.toml").read_text("utf-8")
    return _parse(text, "feeds_default.toml").feeds


def load_feeds(path: Path | None) -> list[FeedConfig]:
    """Enabled feeds from `path` (plus the defaults when it says so), or the defaults when no file is given."""
    if path is None:
        feeds = default_feeds()
    else:
        if not path.is_file():
            raise SettingsError(f"FINMON_SCRAPE__FEEDS_FILE: {path} does not exist")
        user = _parse(path.read_text("utf-8"), str(path))
        feeds = [*default_feeds(), *user.feeds] if user.include_defaults else user.feeds
    unique = {feed.url: feed for feed in feeds}  # a later entry for the same URL overrides (or disables) it
    return [feed for feed in unique.values() if feed.enabled]
