"""Fixtures for the training tests: a tiny random base encoder (BERT, hidden 32) and small labelled files."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizer

from monitor.scoring.model import MultiTaskModel, save_heads
from monitor.scoring.modeldir import ModelSpec
from monitor.scoring.testing import SENTIMENT_LABELS, TOPIC_LABELS, make_tokenizer
from training.args import TrainArgs

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


def word_tokenizer(directory: Path) -> BertTokenizer:
    """monitor.scoring.testing's small WordPiece vocabulary, loaded from its vocab.txt: under transformers 5,
    make_tokenizer's `BertTokenizer(vocab_file=...)` ignores the file and maps every word to [UNK]."""
    make_tokenizer(directory)
    tokenizer = BertTokenizer.from_pretrained(str(directory))
    assert len(tokenizer) > 100, "the test vocabulary did not load"
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def tiny_encoder(vocab_size: int, seed: int = 0) -> BertModel:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    return BertModel(config, add_pooling_layer=False)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local base directory (config, weights and tokenizer together), as `--base` accepts."""
    directory = tmp_path_factory.mktemp("tiny-base")
    tiny_encoder(len(word_tokenizer(directory))).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def word_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finmon model directory (full encoder, tokenizer, heads) over a tiny random BERT that sees words."""
    directory = tmp_path_factory.mktemp("word-model")
    tokenizer = word_tokenizer(directory / "tokenizer")
    encoder = tiny_encoder(len(tokenizer), seed=1)
    encoder.save_pretrained(str(directory / "encoder"))
    save_heads(MultiTaskModel(encoder, {"topic": len(TOPIC_LABELS), "sentiment": len(SENTIMENT_LABELS)}), directory)
    labels = {"topic": TOPIC_LABELS, "sentiment": SENTIMENT_LABELS}
    ModelSpec(name="tiny-words", version="0", labels=labels, max_length=32).save(directory)
    return directory


@pytest.fixture
def sentiment_csv(tmp_path: Path) -> Path:
    """Sentiment labels as shared/data ids (0 Bearish, 1 Bullish, 2 Neutral)."""
    return write_csv(tmp_path / "sentiment.csv", ["text", "label"], [(t, s) for t, s, _ in HEADLINES])


@pytest.fixture
def topic_csv(tmp_path: Path) -> Path:
    """Topic labels as shared/data ids (0..19)."""
    return write_csv(tmp_path / "topic.csv", ["text", "label"], [(t, k) for t, _, k in HEADLINES])


TinyArgs = Callable[[Path, Path, str, Path, Path], TrainArgs]


def _tiny_args(base: Path, output: Path, mode: str, sentiment: Path, topic: Path) -> TrainArgs:
    return TrainArgs(
        output=str(output),
        base=str(base),
        mode=mode,  # type: ignore[arg-type]
        sentiment=(str(sentiment),),
        topic=(str(topic),),
        epochs=1,
        max_steps=2,
        batch_size=4,
        eval_steps=1,
        valid_fraction=0.25,
        lr=1e-2,
        head_lr=1e-2,
        warmup_ratio=0.0,
        max_length=32,
        window=32,
        lora_r=4,
        lora_alpha=8,
        bf16=False,
        device="cpu",
        name="tiny-trained",
    )


@pytest.fixture
def tiny_args() -> TinyArgs:
    """Arguments for a two-step run on the tiny base: (base, output, mode, sentiment file, topic file)."""
    return _tiny_args
