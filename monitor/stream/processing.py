"""One batch from raw messages to indexed ScoredNews and dead letters, independent of Kafka.

No failure of one message escapes a batch: decoding is per message, a scoring failure is bisected down to
the messages that cause it, and the sink isolates a document it cannot write the same way. What still
escapes (the sink stopping, a cluster refusing credentials) concerns the whole batch, which is not committed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.contracts import REASON_LIMIT, BatchScorer, Prediction, ScoredSink
from monitor.news.decoding import InvalidMessage, decode_news
from monitor.news.schemas import EncodedNews, NewsItem, ScoredNews

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """A message that cannot be scored, kept byte for byte with the reason."""

    index: int  # position in the batch
    raw: bytes
    stage: str
    reason: str


@dataclass(frozen=True)
class BatchResult:
    scored: list[EncodedNews]  # indexed, with the JSON sent to Elasticsearch, for news.scored
    dead: list[DeadLetter]


@dataclass(frozen=True)
class Decoded:
    """The first half of a batch: items ready for the model, and the messages already dead."""

    raws: Sequence[bytes | None]
    items: list[tuple[int, NewsItem]]
    dead: list[DeadLetter]


def to_scored(item: NewsItem, prediction: Prediction, model: BatchScorer, now: datetime) -> ScoredNews:
    negative, neutral, positive = prediction.sentiment_probs
    if not all(math.isfinite(p) for p in (*prediction.sentiment_probs, prediction.topic_confidence)):
        raise ValueError(f"the model returned non-finite probabilities {prediction.sentiment_probs}")
    # validated from the item's field values as they are (not re-dumped by alias): the same checks, a third less time
    return ScoredNews.model_validate(
        {
            **item.__dict__,
            "topic": prediction.topic,
            "topic_confidence": round(prediction.topic_confidence, 6),
            "sentiment": prediction.sentiment,
            "sentiment_probs": {
                "negative": round(negative, 6),
                "neutral": round(neutral, 6),
                "positive": round(positive, 6),
            },
            "sentiment_score": round(prediction.sentiment_score, 6),
            "windows": prediction.windows,
            "model_name": model.name,
            "model_version": model.version,
            "model_hash": model.model_hash or None,
            "scored_at": now,
        }
    )


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:REASON_LIMIT]


def decode_batch(raws: Sequence[bytes | None]) -> Decoded:
    items: list[tuple[int, NewsItem]] = []
    dead: list[DeadLetter] = []
    for index, raw in enumerate(raws):
        try:
            items.append((index, decode_news(raw)))
        except InvalidMessage as exc:
            dead.append(DeadLetter(index, raw or b"", exc.stage, exc.reason))
    return Decoded(raws, items, dead)


class BatchProcessor:
    """decode → score (one forward pass for both heads) → index; returns what to forward and to dead-letter.

    `score` and `index` are the two halves the worker overlaps (batch N+1 scored while N is indexed).
    """

    def __init__(self, scorer: BatchScorer, sink: ScoredSink, clock: Callable[[], datetime] | None = None) -> None:
        self.scorer = scorer
        self.sink = sink
        self.clock = clock or (lambda: datetime.now(UTC))

    def score(self, raws: Sequence[bytes | None]) -> tuple[Decoded, list[ScoredNews]]:
        decoded = decode_batch(raws)
        now = self.clock()
        scored: list[ScoredNews] = []
        for group, outcome in self._predict(decoded.items):
            if isinstance(outcome, BaseException):
                index, _ = group[0]
                decoded.dead.append(DeadLetter(index, raws[index] or b"", "score", describe(outcome)))
                continue
            for (index, item), prediction in zip(group, outcome, strict=True):
                try:
                    scored.append(to_scored(item, prediction, self.scorer, now))
                except ValueError as exc:  # a prediction the schema refuses (NaN probabilities)
                    decoded.dead.append(DeadLetter(index, raws[index] or b"", "score", describe(exc)))
        return decoded, scored

    def _predict(
        self, items: list[tuple[int, NewsItem]]
    ) -> list[tuple[list[tuple[int, NewsItem]], list[Prediction] | Exception]]:
        """Score the items in one call; when that fails, halve until the failing messages stand alone."""
        if not items:
            return []
        try:
            predictions = self.scorer.score([item.content for _, item in items])
            if len(predictions) != len(items):
                raise ValueError(f"scorer returned {len(predictions)} predictions for {len(items)} texts")
            return [(items, predictions)]
        except Exception as exc:
            if len(items) == 1:
                log.warning("scoring failed for one message: %s", describe(exc))
                return [(items, exc)]
            middle = len(items) // 2
            return self._predict(items[:middle]) + self._predict(items[middle:])

    def index(self, decoded: Decoded, scored: list[ScoredNews]) -> BatchResult:
        """Write the scored documents; the ones the sink refuses for good join the dead letters."""
        encoded = [EncodedNews(doc) for doc in scored]
        rejected = {r.doc.id: r.reason for r in self.sink.write(encoded)} if encoded else {}
        dead = list(decoded.dead)
        if rejected:
            positions: dict[str, list[int]] = {}
            for index, item in decoded.items:
                positions.setdefault(item.id, []).append(index)
            for doc_id, why in rejected.items():
                dead += [DeadLetter(i, decoded.raws[i] or b"", "index", why) for i in positions[doc_id]]
            encoded = [news for news in encoded if news.doc.id not in rejected]
        return BatchResult(encoded, sorted(dead, key=lambda d: d.index))
