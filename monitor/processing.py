"""One batch from raw messages to indexed ScoredNews and dead letters, independent of Faust."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.contracts import BatchScorer, Prediction, Sink
from monitor.decoding import InvalidMessage, decode_news
from monitor.schemas import NewsItem, ScoredNews, SentimentProbs


@dataclass(frozen=True)
class DeadLetter:
    """A message that cannot be scored, kept byte for byte with the reason."""

    index: int  # position in the batch
    raw: bytes
    stage: str
    reason: str


@dataclass(frozen=True)
class BatchResult:
    scored: list[ScoredNews]
    dead: list[DeadLetter]


def to_scored(item: NewsItem, prediction: Prediction, model: BatchScorer, now: datetime) -> ScoredNews:
    negative, neutral, positive = prediction.sentiment_probs
    return ScoredNews(
        **item.model_dump(by_alias=True),
        topic=prediction.topic,
        topic_confidence=round(prediction.topic_confidence, 6),
        sentiment=prediction.sentiment,
        sentiment_probs=SentimentProbs(
            negative=round(negative, 6), neutral=round(neutral, 6), positive=round(positive, 6)
        ),
        sentiment_score=round(prediction.sentiment_score, 6),
        windows=prediction.windows,
        model_name=model.name,
        model_version=model.version,
        scored_at=now,
    )


class BatchProcessor:
    """decode → score (one forward pass for both heads) → index; returns what to forward and to dead-letter."""

    def __init__(self, scorer: BatchScorer, sink: Sink, clock: Callable[[], datetime] | None = None) -> None:
        self.scorer = scorer
        self.sink = sink
        self.clock = clock or (lambda: datetime.now(UTC))

    def process(self, raws: Sequence[bytes | None]) -> BatchResult:
        items: list[tuple[int, NewsItem]] = []
        dead: list[DeadLetter] = []
        for index, raw in enumerate(raws):
            try:
                items.append((index, decode_news(raw)))
            except InvalidMessage as exc:
                dead.append(DeadLetter(index, raw or b"", exc.stage, exc.reason))
        predictions = self.scorer.score([item.content for _, item in items])
        now = self.clock()
        scored = [to_scored(item, p, self.scorer, now) for (_, item), p in zip(items, predictions, strict=True)]
        rejected = {r.doc.id: r.reason for r in self.sink.write(scored)}
        if rejected:
            position = {item.id: index for index, item in items}
            dead += [DeadLetter(position[i], raws[position[i]] or b"", "index", why) for i, why in rejected.items()]
            scored = [doc for doc in scored if doc.id not in rejected]
        return BatchResult(scored, sorted(dead, key=lambda d: d.index))
