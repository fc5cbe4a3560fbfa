"""A tiny random model in the finmon model format, for unit tests that need a real model directory."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizer

from monitor.news import schemas
from monitor.scoring.modeldir import ModelSpec
from monitor.scoring.network import MultiTaskModel, save_heads

TOPIC_LABELS = list(schemas.TOPIC_LABELS)
SENTIMENT_LABELS = list(schemas.SENTIMENT_LABELS)

_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "in",
    "and",
    "for",
    "on",
    "with",
    "is",
    "are",
    "was",
    "stock",
    "stocks",
    "shares",
    "share",
    "market",
    "markets",
    "bank",
    "banks",
    "fed",
    "rate",
    "rates",
    "cut",
    "hike",
    "earnings",
    "profit",
    "loss",
    "revenue",
    "beat",
    "miss",
    "guidance",
    "oil",
    "gold",
    "price",
    "prices",
    "up",
    "down",
    "rise",
    "fall",
    "falls",
    "rises",
    "surge",
    "plunge",
    "drop",
    "jumps",
    "slump",
    "record",
    "high",
    "low",
    "ceo",
    "resigns",
    "ipo",
    "merger",
    "deal",
    "acquire",
    "lawsuit",
    "sec",
    "probe",
    "dividend",
    "bond",
    "yields",
    "dollar",
    "euro",
    "inflation",
    "growth",
    "jobs",
    "report",
    "quarter",
    "year",
    "new",
    "says",
    "company",
    "apple",
    "tesla",
    "amazon",
    "microsoft",
    "nvidia",
    "meta",
    "google",
    "exxon",
]


def make_tokenizer(directory: Path) -> BertTokenizer:
    """A WordPiece tokenizer over a small vocabulary (letters as a fallback for unknown words)."""
    directory.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789$.,&%'-:!?")
    pieces = ["##" + ch for ch in letters]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *pieces, *_WORDS]
    (directory / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    return BertTokenizer(vocab=str(directory / "vocab.txt"), do_lower_case=True)


def make_tiny_model_dir(model_dir: Path, *, seed: int = 0, max_length: int = 64) -> Path:
    """Write a randomly initialised BERT (hidden 32, 2 layers) with both heads as a finmon model directory."""
    torch.manual_seed(seed)
    tokenizer = make_tokenizer(model_dir / "tokenizer")
    tokenizer.save_pretrained(str(model_dir / "tokenizer"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    encoder.save_pretrained(str(model_dir / "encoder"))
    model = MultiTaskModel(encoder, {"topic": len(TOPIC_LABELS), "sentiment": len(SENTIMENT_LABELS)})
    save_heads(model, model_dir)
    ModelSpec(
        name="tiny-random",
        version="0",
        labels={"topic": TOPIC_LABELS, "sentiment": SENTIMENT_LABELS},
        max_length=max_length,
    ).save(model_dir)
    return model_dir
