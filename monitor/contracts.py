"""The small interfaces between stream processing, the model and the sinks (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.news.schemas import EncodedNews, ScoredNews


@dataclass(frozen=True)
class Prediction:
    """Both heads' answer for one text, aggregated over its windows."""

    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_probs: tuple[float, float, float]  # negative, neutral, positive
    windows: int

    @property
    def sentiment_score(self) -> float:
        negative, _, positive = self.sentiment_probs
        return max(-1.0, min(1.0, positive - negative))


REASON_LIMIT = 1000  # characters of a failure reason kept: a document the sink refused, a dead letter's reason


@dataclass(frozen=True)
class Rejected:
    """A document the sink refused for good (not retriable), with its reason."""

    doc: ScoredNews
    reason: str


class Unreachable(Exception):
    """A server finmon needs did not answer at start; the message names the setting and the address."""


class BatchScorer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def model_hash(self) -> str: ...  # short content hash of the model files (monitor.scoring.modeldir.model_hash)

    def score(self, texts: Sequence[str]) -> list[Prediction]: ...


class ScoredSink(Protocol):
    """Where scored news is indexed (EsNewsSink); returns the documents refused for good."""

    def write(self, docs: Sequence[EncodedNews]) -> list[Rejected]: ...
