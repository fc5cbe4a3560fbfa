"""Fixtures for the training tests: small labelled files and the arguments of a two-step run on the tiny base
(`tiny_base` of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import write_csv
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
