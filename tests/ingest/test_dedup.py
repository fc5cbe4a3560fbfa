"""Near-duplicate detection and story linking (pure: no server, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.ingest.dedup import StoryLinker, story_text
from monitor.ingest.similarity import from_bytes, shingles, signature, similarity, to_bytes

T0 = datetime(2025, 11, 5, 18, 0, tzinfo=UTC)
THRESHOLD = 0.4  # the ScrapeSettings default, tested on the pairs below

APPLE = (
    "Apple shares fall after iPhone sales miss forecasts",
    "Apple Inc shares fell on Thursday after the company reported iPhone sales that missed analyst forecasts.",
)
# The same story, syndicated or lightly reworded by another outlet.
SAME_STORY = [
    (
        APPLE,
        (
            "UPDATE 1-Apple shares slide as iPhone sales miss forecasts",
            "Shares of Apple Inc fell on Thursday after the company posted iPhone sales "
            "that missed analysts' forecasts.",
        ),
    ),
    (
        (
            "Fed holds rates steady, signals two cuts this year",
            "The Federal Reserve left its benchmark interest rate unchanged on Wednesday and signalled it still "
            "expects two cuts before the end of the year.",
        ),
        (
            "Federal Reserve keeps interest rates unchanged, still sees two cuts this year",
            "The Federal Reserve kept its benchmark interest rate unchanged on Wednesday and signalled it still "
            "expects two rate cuts before the end of the year.",
        ),
    ),
    (
        ("Tesla recalls 2 million vehicles over Autopilot", "Tesla is recalling more than 2 million vehicles."),
        ("EXCLUSIVE: Tesla recalls 2 million vehicles over Autopilot", "Tesla is recalling over 2 million vehicles."),
    ),
]
# Different stories about the same company or topic: must stay apart.
DIFFERENT_STORIES = [
    (
        APPLE,
        (
            "Apple shares rise after strong services revenue",
            "Apple Inc shares rose on Thursday after the company reported record revenue from its services business.",
        ),
    ),
    (
        (
            "Fed holds rates steady, signals two cuts this year",
            "The Federal Reserve left its benchmark interest rate unchanged on Wednesday.",
        ),
        (
            "ECB holds rates steady, signals cuts later this year",
            "The European Central Bank left its deposit rate unchanged on Thursday and signalled cuts later.",
        ),
    ),
    (
        ("Tesla recalls 2 million vehicles over Autopilot", "Tesla is recalling more than 2 million vehicles."),
        ("Toyota recalls 1 million vehicles over airbags", "Toyota is recalling about 1 million cars in Japan."),
    ),
]


def _score(left: tuple[str, str], right: tuple[str, str]) -> float:
    return similarity(signature(shingles(story_text(*left))), signature(shingles(story_text(*right))))


@pytest.mark.parametrize(("left", "right"), SAME_STORY)
def test_reworded_copies_score_above_the_threshold(left: tuple[str, str], right: tuple[str, str]) -> None:
    assert _score(left, right) >= THRESHOLD


@pytest.mark.parametrize(("left", "right"), DIFFERENT_STORIES)
def test_different_stories_score_below_the_threshold(left: tuple[str, str], right: tuple[str, str]) -> None:
    assert _score(left, right) < THRESHOLD


def test_signatures_are_stable_and_round_trip_through_bytes() -> None:
    sig = signature(shingles("Nvidia takes stake in chip designer"))
    assert signature(shingles("Nvidia takes stake in chip designer")) == sig
    assert from_bytes(to_bytes(sig)) == sig
    assert similarity(sig, sig) == 1.0


def _linker() -> StoryLinker:
    return StoryLinker(timedelta(hours=48), THRESHOLD)


def test_a_reworded_copy_joins_the_first_items_story() -> None:
    linker = _linker()
    first, _ = linker.link("a", *SAME_STORY[1][0], T0, T0)
    copy, _ = linker.link("b", *SAME_STORY[1][1], T0 + timedelta(minutes=40), T0 + timedelta(hours=1))
    assert (first.story_id, first.is_first) == ("a", True)
    assert (copy.story_id, copy.is_first) == ("a", False)
    assert copy.score >= THRESHOLD


def test_different_stories_open_their_own_story() -> None:
    linker = _linker()
    linker.link("a", *DIFFERENT_STORIES[0][0], T0, T0)
    other, _ = linker.link("b", *DIFFERENT_STORIES[0][1], T0, T0)
    assert (other.story_id, other.is_first) == ("b", True)


def test_a_copy_outside_the_window_is_a_new_story() -> None:
    linker = _linker()
    linker.link("a", *APPLE, T0, T0)
    late, _ = linker.link("b", *APPLE, T0 + timedelta(hours=49), T0 + timedelta(hours=49))
    assert late.is_first and late.story_id == "b"


def test_old_entries_are_forgotten_so_memory_stays_bounded() -> None:
    linker = _linker()
    for i in range(5):
        linker.link(f"old-{i}", f"story number {i} about widgets", "", T0, T0)
    linker.link("new", "a later story", "", T0 + timedelta(hours=72), T0 + timedelta(hours=72))
    assert len(linker) == 1


def test_linking_the_same_id_again_returns_the_same_story() -> None:
    linker = _linker()
    linker.link("a", *APPLE, T0, T0)
    linker.link("b", *SAME_STORY[0][1], T0, T0)
    again, _ = linker.link("b", *SAME_STORY[0][1], T0, T0)
    assert (again.story_id, again.is_first) == ("a", False)
    assert len(linker) == 2


def test_remembered_items_link_later_copies() -> None:
    """What a restart does: items restored from the store link copies that arrive after it."""
    before = _linker()
    _, sig = before.link("a", *APPLE, T0, T0)
    after = _linker()
    after.remember("a", "a", T0, sig, added=T0)
    copy, _ = after.link("b", *SAME_STORY[0][1], T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert (copy.story_id, copy.is_first) == ("a", False)


def test_old_dated_copies_still_link_when_a_fresh_item_came_between() -> None:
    """Feeds deliver items of all ages: a new item must not push out older-dated ones seen at the same time."""
    linker = _linker()
    now = T0 + timedelta(days=300)
    linker.link("a", *APPLE, T0, now)
    linker.link("fresh", "An unrelated story published just now", "", now, now)
    copy, _ = linker.link("b", *SAME_STORY[0][1], T0 + timedelta(hours=1), now)
    assert (copy.story_id, copy.is_first) == ("a", False)
