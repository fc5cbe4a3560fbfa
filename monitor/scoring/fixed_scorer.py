"""A benchmark instrument: a BatchScorer that runs no model and gives every text the same labels (pure).

`FINMON_MODEL__BACKEND=fixed` (and `finmon bench pipeline`'s third line) measure the stream path alone:
Kafka, the worker's consuming and committing, decoding, Elasticsearch and publishing, with scoring costing nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.contracts import Prediction

FIXED = Prediction("Markets", 1.0, "neutral", (0.0, 1.0, 0.0), 1)


class FixedScorer:
    """Every text: topic Markets, sentiment neutral, probability 1. Not a model: never use it to score news."""

    name = "fixed-labels-benchmark"
    version = "0"
    model_hash = "none"

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        return [FIXED] * len(texts)
