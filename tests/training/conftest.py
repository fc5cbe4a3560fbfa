"""Fixtures for the training tests: a tiny random base encoder (BERT, hidden 32) and small labelled files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

from monitor.testing import make_tokenizer

HEADLINES = [
    ("fed cut rates and stocks rise", "1", "1"),
    ("oil price falls as growth slows", "0", "6"),
    ("apple earnings beat record revenue", "1", "5"),
    ("bank shares plunge after sec probe", "0", "12"),
    ("gold prices up on inflation report", "1", "10"),
    ("tesla ceo resigns shares drop", "0", "17"),
    ("dollar down against the euro", "2", "8"),
    ("microsoft to acquire company in new deal", "2", "13"),
    ("nvidia stock jumps to record high", "1", "19"),
    ("amazon guidance miss shares slump", "0", "5"),
    ("bond yields rise on jobs report", "2", "3"),
    ("exxon raises dividend", "1", "4"),
]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local base directory (config, weights and tokenizer together), as `--base` accepts."""
    directory = tmp_path_factory.mktemp("tiny-base")
    tokenizer = make_tokenizer(directory)
    tokenizer.save_pretrained(str(directory))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(directory))
    return directory


@pytest.fixture
def sentiment_csv(tmp_path: Path) -> Path:
    """Sentiment labels as shared/data ids (0 Bearish, 1 Bullish, 2 Neutral)."""
    return write_csv(tmp_path / "sentiment.csv", ["text", "label"], [(t, s) for t, s, _ in HEADLINES])


@pytest.fixture
def topic_csv(tmp_path: Path) -> Path:
    """Topic labels as shared/data ids (0..19)."""
    return write_csv(tmp_path / "topic.csv", ["text", "label"], [(t, k) for t, _, k in HEADLINES])
