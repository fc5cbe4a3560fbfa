"""Story linking: near-duplicate items within a time window share a story_id; the first one is novel (pure)."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.ingest.similarity import band_keys, shingles, signature, similarity


@dataclass(frozen=True)
class StoryLink:
    """Which story an item belongs to, whether it opened that story, and how close its best match was."""

    story_id: str
    is_first: bool
    score: float = 1.0


@dataclass(frozen=True)
class _Entry:
    item_id: str
    story_id: str
    when: datetime  # the item's time: two items link only if these are within the window
    added: datetime  # when the linker saw it: entries are forgotten a window after this
    sig: tuple[int, ...]


def story_text(title: str, text: str, lead_chars: int = 300) -> str:
    """What two copies of one story share: the title and the lead of the text."""
    return f"{title} {text[:lead_chars]}".strip()


class StoryLinker:
    """Links each new item to the most similar recent item (MinHash + LSH) or opens a new story.

    Two items link when their item times are within `window` and their estimated Jaccard similarity reaches
    `threshold`. Entries are forgotten a window after they were seen (`now` is passed in), so memory is
    bounded by what arrives in one window, and a story told again weeks later counts as new.
    """

    def __init__(self, window: timedelta, threshold: float) -> None:
        self.window = window
        self.threshold = threshold
        self._entries: dict[str, _Entry] = {}
        self._order: deque[str] = deque()
        self._buckets: dict[tuple[int, int], set[str]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._entries)

    def link(
        self, item_id: str, title: str, text: str, when: datetime, now: datetime
    ) -> tuple[StoryLink, tuple[int, ...]]:
        """Assign a story to the item (idempotent for an id already linked) and remember it."""
        known = self._entries.get(item_id)
        if known is not None:
            return StoryLink(known.story_id, known.story_id == item_id), known.sig
        self.expire(now)
        sig = signature(shingles(story_text(title, text)))
        match, score = self._best_match(sig, when)
        link = StoryLink(match.story_id, False, score) if match else StoryLink(item_id, True)
        self.remember(item_id, link.story_id, when, sig, now)
        return link, sig

    def remember(self, item_id: str, story_id: str, when: datetime, sig: tuple[int, ...], added: datetime) -> None:
        """Add an already-linked item (also used to restore state after a restart)."""
        self.expire(added)
        if item_id in self._entries:
            return
        self._entries[item_id] = _Entry(item_id, story_id, when, added, sig)
        self._order.append(item_id)
        for key in band_keys(sig):
            self._buckets[key].add(item_id)

    def expire(self, now: datetime) -> None:
        """Forget entries seen more than a window before `now` (they were added in time order)."""
        while self._order and self._entries[self._order[0]].added < now - self.window:
            self._forget(self._order.popleft())

    def _forget(self, item_id: str) -> None:
        entry = self._entries.pop(item_id)
        for key in band_keys(entry.sig):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.discard(item_id)
                if not bucket:
                    del self._buckets[key]

    def _best_match(self, sig: tuple[int, ...], when: datetime) -> tuple[_Entry | None, float]:
        candidates: set[str] = set()
        for key in band_keys(sig):
            candidates |= self._buckets.get(key, set())
        best: _Entry | None = None
        best_score = 0.0
        for item_id in candidates:
            entry = self._entries[item_id]
            if abs(entry.when - when) > self.window:
                continue
            score = similarity(sig, entry.sig)
            if score >= self.threshold and score > best_score:
                best, best_score = entry, score
        return best, best_score
