"""Feeds configuration: the shipped default list, and a user file that replaces or extends it."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app.settings import SettingsError
from monitor.ingest.feeds import default_feeds, load_feeds


def test_the_shipped_list_has_public_financial_feeds() -> None:
    feeds = default_feeds()
    assert len(feeds) >= 10
    assert all(f.url.startswith("https://") for f in feeds)
    assert len({f.url for f in feeds}) == len(feeds)
    assert load_feeds(None) == feeds


def test_a_user_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "Mine"\nurl = "http://127.0.0.1:8000/rss"\ninterval = 60\n')
    (feed,) = load_feeds(path)
    assert (feed.name, feed.url, feed.interval) == ("Mine", "http://127.0.0.1:8000/rss", 60)


def test_a_user_file_can_extend_and_disable_defaults(tmp_path: Path) -> None:
    first = default_feeds()[0]
    path = tmp_path / "feeds.toml"
    path.write_text(
        "include_defaults = true\n"
        '[[feeds]]\nname = "Mine"\nurl = "http://127.0.0.1:8000/rss"\n'
        f'[[feeds]]\nname = "off"\nurl = "{first.url}"\nenabled = false\n'
    )
    feeds = load_feeds(path)
    assert len(feeds) == len(default_feeds())  # one added, one switched off
    assert first.url not in {f.url for f in feeds}


@pytest.mark.parametrize(
    "text",
    [
        '[[feeds]]\nname = "x"\nurl = "ftp://nope"\n',
        '[[feeds]]\nname = "x"\n',
        '[[feeds]]\nname = "x"\nurl = "http://a.test"\ncolour = "red"\n',
        "[[feeds]\n",
    ],
)
def test_bad_files_name_the_setting(tmp_path: Path, text: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match="FINMON_SCRAPE__FEEDS_FILE"):
        load_feeds(path)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_feeds(tmp_path / "nope.toml")
