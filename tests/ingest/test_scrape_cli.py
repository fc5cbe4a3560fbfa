"""`finmon scrape --once --feeds FILE --out FILE.jsonl` on the fixtures: the dry run users can inspect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app.cli import main

from .feedserver import FeedServer, Route

FEEDS = {
    "/markets.rss": Route.fixture("markets.rss.xml"),
    "/wire.atom": Route.fixture("wire.atom.xml", content_type="application/atom+xml"),
    "/deals.json": Route.fixture("deals.feed.json"),
    "/broken.xml": Route.fixture("malformed.xml"),
    "/down": Route(body=b"", status=500, content_type="text/plain"),
}


def _feeds_file(tmp_path: Path, server: FeedServer) -> Path:
    server.routes.update(FEEDS)
    path = tmp_path / "feeds.toml"
    path.write_text("".join(f'[[feeds]]\nname = "{p.strip("/")}"\nurl = "{server.url(p)}"\n' for p in FEEDS))
    return path


@pytest.fixture
def quick_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINMON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINMON_SCRAPE__READ_TIMEOUT", "0.5")
    monkeypatch.setenv("FINMON_SCRAPE__HOST_INTERVAL", "0")


@pytest.mark.usefixtures("quick_env")
def test_scrape_once_writes_clean_deduplicated_ticker_tagged_jsonl(tmp_path: Path, feed_server: FeedServer) -> None:
    out = tmp_path / "out" / "items.jsonl"
    assert main(["scrape", "--once", "--feeds", str(_feeds_file(tmp_path, feed_server)), "--out", str(out)]) == 0
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(items) == 10
    assert len({i["id"] for i in items}) == 10
    assert all(i["v"] == 1 and i["title"] and i["published_at"] and i["story_id"] for i in items)
    assert sum(1 for i in items if not i["is_first"]) == 1  # the reworded Fed copy
    assert {t for i in items for t in i.get("tickers", [])} == {"AAPL", "GS", "MS", "NVDA", "TSLA", "MSFT", "DB"}
    assert not (tmp_path / "data" / "ingest").exists()  # a dry run leaves no dedup state behind


@pytest.mark.usefixtures("quick_env")
def test_scrape_once_with_a_state_file_does_not_repeat_itself(tmp_path: Path, feed_server: FeedServer) -> None:
    feeds, state = _feeds_file(tmp_path, feed_server), tmp_path / "state.sqlite3"
    args = ["scrape", "--once", "--feeds", str(feeds), "--state", str(state), "--out"]
    assert main([*args, str(tmp_path / "first.jsonl")]) == 0
    assert main([*args, str(tmp_path / "second.jsonl")]) == 0
    assert len((tmp_path / "first.jsonl").read_text().splitlines()) == 10
    assert (tmp_path / "second.jsonl").read_text() == ""


@pytest.mark.usefixtures("quick_env")
def test_all_feeds_failing_is_a_failed_run(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/down"] = Route(status=500, content_type="text/plain")
    path = tmp_path / "feeds.toml"
    path.write_text(f'[[feeds]]\nname = "down"\nurl = "{feed_server.url("/down")}"\n')
    assert main(["scrape", "--once", "--feeds", str(path), "--out", str(tmp_path / "x.jsonl")]) == 1


@pytest.mark.usefixtures("quick_env")
def test_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FINMON_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    assert main(["scrape", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "--once" in capsys.readouterr().err
    assert main(["scrape", "--once"]) == 2
    assert "FINMON_KAFKA__BOOTSTRAP_SERVERS" in capsys.readouterr().err
