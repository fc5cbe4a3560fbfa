"""A scorer wrapped to time each batch, for the scoring latency histogram."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from monitor.contracts import BatchScorer, Prediction


class TimedScorer:
    """A BatchScorer that reports each batch's model time (in seconds) to `observe`, e.g. a histogram's."""

    def __init__(self, scorer: BatchScorer, observe: Callable[[float], None]) -> None:
        self.scorer, self.observe = scorer, observe

    @property
    def name(self) -> str:
        return self.scorer.name

    @property
    def version(self) -> str:
        return self.scorer.version

    @property
    def model_hash(self) -> str:
        return self.scorer.model_hash

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        start = time.perf_counter()
        try:
            return self.scorer.score(texts)
        finally:
            self.observe(time.perf_counter() - start)
