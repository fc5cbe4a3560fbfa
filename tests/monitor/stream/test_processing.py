import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.contracts import Prediction
from monitor.news.decoding import InvalidMessage, decode_news
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from monitor.stream.processing import BatchProcessor, BatchResult
from tests.support.sinks import MemoryScoredSink

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "stage", "reason"),
    [
        (b"", "decode", "empty message"),
        (b"\xff\xfe", "decode", "not UTF-8"),
        (b'{"title": "x', "decode", "invalid JSON"),
        (b"[1, 2]", "decode", "expected a JSON object, got list"),
        (b'{"url": "https://e.com/1"}', "validate", "needs a title or a text"),
        (b'{"title": "t", "published_at": "yesterday"}', "validate", "published_at"),
        (b'{"title": "t", "tickers": "AAPL"}', "validate", "tickers"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(raw: bytes, stage: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason) as caught:
        decode_news(raw)
    assert caught.value.stage == stage


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return Scorer.from_settings(ModelSettings(path=str(tiny_model_dir), device="cpu"))


def process(processor: BatchProcessor, raws: list[bytes]) -> BatchResult:
    """Both halves of a batch, in order, as the worker runs them."""
    return processor.index(*processor.score(raws))


def good(i: int) -> bytes:
    return json.dumps({"title": f"stock {i} up", "url": f"https://e.com/{i}", "source": "wire"}).encode()


def test_batch_routes_good_items_to_the_sink_and_bad_ones_to_dead_letters(scorer: Scorer) -> None:
    sink = MemoryScoredSink()
    raws = [good(0), b"not json", good(1), b'{"title": ""}', good(2)]
    result = process(BatchProcessor(scorer, sink, clock=lambda: NOW), raws)
    assert [d.index for d in result.dead] == [1, 3]
    assert [d.raw for d in result.dead] == [b"not json", b'{"title": ""}']
    assert all(d.reason for d in result.dead)
    assert len(result.scored) == 3 and set(sink.docs) == {news.doc.id for news in result.scored}
    doc = result.scored[0].doc
    assert doc.scored_at == NOW and doc.model_name == "tiny-random" and doc.source == "wire"


def test_documents_the_sink_rejects_become_dead_letters(scorer: Scorer) -> None:
    bad_id = decode_news(good(1)).id
    sink = MemoryScoredSink(reject={bad_id: "mapper_parsing_exception"})
    result = process(BatchProcessor(scorer, sink, clock=lambda: NOW), [good(0), good(1)])
    assert [(d.index, d.stage, d.reason) for d in result.dead] == [(1, "index", "mapper_parsing_exception")]
    assert [news.doc.id for news in result.scored] == [decode_news(good(0)).id]


class ExplodingScorer:
    """Scores like the tiny model, but raises on any batch holding a text with `boom` in it."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.calls = 0

    name = "exploding"
    version = "0"
    model_hash = "0"

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls += 1
        if any("boom" in text for text in texts):
            raise RuntimeError("tensor shape mismatch")
        return self.scorer.score(texts)


def test_a_scoring_failure_dead_letters_only_the_message_that_causes_it(scorer: Scorer) -> None:
    raws = [good(i) for i in range(7)]
    raws[4] = json.dumps({"title": "stock boom", "url": "https://e.com/boom"}).encode()
    sink = MemoryScoredSink()
    exploding = ExplodingScorer(scorer)
    result = process(BatchProcessor(exploding, sink, clock=lambda: NOW), raws)
    assert [(d.index, d.stage) for d in result.dead] == [(4, "score")]
    assert "RuntimeError: tensor shape mismatch" in result.dead[0].reason
    assert len(result.scored) == 6 and len(sink.docs) == 6
    assert exploding.calls <= 2 * 3 + 1  # halving: about 2 log2(n) calls, not one per message


class NanScorer:
    name = "nan"
    version = "0"
    model_hash = "0"

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        nan, fine = (float("nan"), 0.5, 0.5), (0.2, 0.5, 0.3)
        return [Prediction("Markets", 0.9, "neutral", nan if "nan" in text else fine, 1) for text in texts]


def test_a_prediction_the_schema_refuses_is_a_dead_letter() -> None:
    raws = [good(0), json.dumps({"title": "nan stock", "url": "https://e.com/nan"}).encode()]
    result = process(BatchProcessor(NanScorer(), MemoryScoredSink(), clock=lambda: NOW), raws[1:] + raws[:1])
    assert [(d.index, d.stage) for d in result.dead] == [(0, "score")]
    assert len(result.scored) == 1


def test_two_messages_with_one_id_that_the_sink_rejects_are_both_dead_letters(scorer: Scorer) -> None:
    bad_id = decode_news(good(1)).id
    processor = BatchProcessor(scorer, MemoryScoredSink(reject={bad_id: "refused"}), clock=lambda: NOW)
    result = process(processor, [good(1), good(0), good(1)])
    assert [(d.index, d.reason) for d in result.dead] == [(0, "refused"), (2, "refused")]
