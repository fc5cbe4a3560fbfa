"""Which news a person should label first (pure): the model's least certain, one per story, spread over
topics and tickers, none already labelled.

Certainty of an item is the weaker of its two heads: the sentiment margin (top probability minus the
runner-up, from the stored `sentiment_probs`) and the topic confidence (the top topic's probability). The
queue takes the least certain item, then keeps taking the least certain while charging each topic and
ticker already in the queue a small penalty, so a burst of one story or one ticker does not fill it.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SENTIMENTS = ("negative", "neutral", "positive")
TOPIC_PENALTY = 0.08  # certainty added per item of the same topic already queued
TICKER_PENALTY = 0.08  # and per item of the same ticker (the most crowded of its tickers)


@dataclass(frozen=True)
class Candidate:
    """One scored news item as the queue sees it (from its Elasticsearch document)."""

    id: str
    title: str
    sentiment: str | None
    sentiment_probs: Mapping[str, float]
    topic: str | None
    topic_confidence: float | None
    tickers: tuple[str, ...] = ()
    story: str = ""
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sentiment_margin(self) -> float:
        probs = sorted((float(self.sentiment_probs.get(name, 0.0)) for name in SENTIMENTS), reverse=True)
        return probs[0] - probs[1] if self.sentiment_probs else 1.0

    @cached_property
    def certainty(self) -> float:
        """The weaker head's certainty in [0, 1]: 0 = a coin toss."""
        topic = 1.0 if self.topic_confidence is None else float(self.topic_confidence)
        return min(self.sentiment_margin, topic)


def _story_key(source: Mapping[str, Any], title: str) -> str:
    """The dedup group where the scraper set one, else the headline without case, digits or punctuation."""
    story = source.get("story_id")
    if isinstance(story, str) and story:
        return f"story:{story}"
    return "title:" + re.sub(r"[\W\d_]+", " ", title.casefold()).strip()


def candidate(news_id: str, source: Mapping[str, Any]) -> Candidate | None:
    """A news document as a Candidate; None when it lacks what the queue needs (no text or no labels)."""
    title = str(source.get("title") or source.get("text") or "").strip()
    probs = source.get("sentiment_probs")
    if not title or not isinstance(probs, dict):
        return None
    try:
        parsed = {name: float(probs[name]) for name in SENTIMENTS if name in probs}
        confidence = source.get("topic_confidence")
        topic_confidence = None if confidence is None else float(confidence)
    except (TypeError, ValueError):
        return None
    tickers = source.get("tickers") or []
    return Candidate(
        id=news_id,
        title=title,
        sentiment=source.get("sentiment"),
        sentiment_probs=parsed,
        topic=source.get("topic"),
        topic_confidence=topic_confidence,
        tickers=tuple(str(t) for t in tickers) if isinstance(tickers, list) else (),
        story=_story_key(source, title),
        source=dict(source),
    )


def _cost(item: Candidate, topics: Counter[str | None], tickers: Counter[str]) -> float:
    crowd = max((tickers[t] for t in item.tickers), default=0)
    return item.certainty + TOPIC_PENALTY * topics[item.topic] + TICKER_PENALTY * crowd


def pick_queue(candidates: Iterable[Candidate], labelled: set[str], size: int) -> list[Candidate]:
    """Up to `size` items to label, in the order to label them. Greedy on a lazy heap: an item's cost only
    grows as the queue fills, so a popped item whose fresh cost still beats the next key is the minimum."""
    pool: dict[str, Candidate] = {}
    for item in sorted(candidates, key=lambda c: (c.certainty, c.id)):
        if item.id not in labelled and item.story not in pool:
            pool[item.story] = item  # the least certain item of each story
    heap = [(item.certainty, item.id, item) for item in pool.values()]
    heapq.heapify(heap)
    topics: Counter[str | None] = Counter()
    tickers: Counter[str] = Counter()
    queue: list[Candidate] = []
    while heap and len(queue) < size:
        _, key, item = heapq.heappop(heap)
        cost = _cost(item, topics, tickers)
        if heap and (cost, key) > heap[0][:2]:
            heapq.heappush(heap, (cost, key, item))
            continue
        queue.append(item)
        topics[item.topic] += 1
        tickers.update(item.tickers)
    return queue
