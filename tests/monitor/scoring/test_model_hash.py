"""The model's content hash: stable across copies, blind to the card, changed by any weight; on every document."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from safetensors.torch import load_file, save_file

from monitor.contracts import Prediction
from monitor.news.schemas import NewsItem
from monitor.scoring.fixed_scorer import FixedScorer
from monitor.scoring.modeldir import HEADS_FILE, model_hash
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from monitor.store.mappings import NEWS_MAPPING
from monitor.stream.processing import to_scored
from tests.support.documents import es_document


def test_the_hash_is_stable_and_follows_the_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = model_hash(tiny_model_dir)
    assert len(first) == 12 and int(first, 16) >= 0 and model_hash(tiny_model_dir) == first
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "README.md").write_text("a card, metrics and pictures do not change what the model says\n")
    assert model_hash(copy) == first

    heads = load_file(str(copy / HEADS_FILE))
    heads["sentiment.bias"] = heads["sentiment.bias"] + 1e-3
    save_file(heads, str(copy / HEADS_FILE))
    assert model_hash(copy) != first

    again = tmp_path / "again"
    shutil.copytree(tiny_model_dir, again)
    encoder_file = next((again / "encoder").glob("*.safetensors"))
    tensors = load_file(str(encoder_file))
    name = next(iter(tensors))
    tensors[name] = tensors[name] * 0.5
    save_file(tensors, str(encoder_file))
    assert model_hash(again) != first


def test_scored_documents_carry_the_models_hash(tiny_model_dir: Path) -> None:
    scorer = Scorer.from_settings(ModelSettings(path=str(tiny_model_dir), device="cpu"))
    assert scorer.model_hash == model_hash(tiny_model_dir)
    item = NewsItem(title="Oil falls", url="https://example.com/1")
    (prediction,) = scorer.score([item.content])
    doc = es_document(to_scored(item, prediction, scorer, datetime(2026, 12, 3, tzinfo=UTC)))
    assert (doc["model_name"], doc["model_version"], doc["model_hash"]) == ("tiny-random", "0", scorer.model_hash)
    assert NEWS_MAPPING["properties"]["model_hash"] == {"type": "keyword"}


def test_a_scorer_without_a_model_records_none() -> None:
    item = NewsItem(title="Oil falls", url="https://example.com/2")
    prediction = Prediction("Markets", 1.0, "neutral", (0.0, 1.0, 0.0), 1)
    doc = es_document(to_scored(item, prediction, FixedScorer(), datetime(2026, 12, 3, tzinfo=UTC)))
    assert doc["model_hash"] == "none"
