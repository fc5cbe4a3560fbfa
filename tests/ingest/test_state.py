"""The sqlite state: ids survive a reopen, the store stays bounded by count and age, feed validators persist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.ingest.fetch import Validators
from monitor.ingest.state import ScraperState, SeenItem

T0 = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _item(i: int) -> SeenItem:
    return SeenItem(f"id-{i}", f"story-{i}", T0 - timedelta(hours=i), b"\x01" * 16)


def test_seen_ids_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = ScraperState(path, max_items=1000, ttl_seconds=86400)
    store.mark([_item(1), _item(2)])
    store.close()
    reopened = ScraperState(path, max_items=1000, ttl_seconds=86400)
    assert reopened.unseen(["id-1", "id-2", "id-3"]) == {"id-3"}
    reopened.close()


def test_marking_twice_is_harmless(tmp_path: Path) -> None:
    store = ScraperState(None, max_items=1000, ttl_seconds=86400)
    store.mark([_item(1)])
    store.mark([_item(1)])
    assert store.count() == 1


def test_old_ids_expire_after_the_ttl() -> None:
    clock = Clock()
    store = ScraperState(None, max_items=1000, ttl_seconds=3600, clock=clock)
    store.mark([_item(1)])
    clock.now += timedelta(hours=2)
    store.mark([_item(2)])
    store.prune()
    assert store.unseen(["id-1", "id-2"]) == {"id-1"}


def test_the_oldest_ids_go_beyond_the_size_cap() -> None:
    clock = Clock()
    store = ScraperState(None, max_items=100, ttl_seconds=86400 * 30, clock=clock)
    for i in range(150):
        clock.now += timedelta(seconds=1)
        store.mark([_item(i)])
    store.prune()
    assert store.count() == 100
    assert store.unseen(["id-0", "id-49", "id-50", "id-149"]) == {"id-0", "id-49"}


def test_recent_returns_what_was_emitted_in_the_window_in_order() -> None:
    clock = Clock()
    store = ScraperState(None, max_items=1000, ttl_seconds=86400 * 30, clock=clock)
    store.mark([_item(1)])
    clock.now += timedelta(days=3)
    store.mark([_item(3), _item(2)])
    recent = list(store.recent(clock.now - timedelta(days=1)))
    assert [r.id for r in recent] == ["id-3", "id-2"]
    assert recent[0].signature == b"\x01" * 16 and recent[0].item_time == T0 - timedelta(hours=3)
    assert recent[0].seen_at == clock.now


def test_feed_validators_persist(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = ScraperState(path, max_items=1000, ttl_seconds=86400)
    assert store.validators("http://a.test/rss") is None
    store.save_validators("http://a.test/rss", Validators('"e1"', "Wed, 05 Nov 2025 20:00:00 GMT"))
    store.close()
    reopened = ScraperState(path, max_items=1000, ttl_seconds=86400)
    assert reopened.validators("http://a.test/rss") == Validators('"e1"', "Wed, 05 Nov 2025 20:00:00 GMT")
    reopened.close()
