"""`finmon train` end to end on the tiny base: one step, the exported model and the printed figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app.cli import main
from monitor.scoring.modeldir import SPEC_FILE


def test_train_command_trains_exports_and_prints_the_reports(
    tiny_base: Path, sentiment_csv: Path, topic_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "model"
    options = {
        "--base": tiny_base, "--sentiment": sentiment_csv, "--topic": topic_csv, "--output": output,
        "--max-steps": 1, "--batch-size": 4, "--valid-fraction": 0.25, "--eval-steps": 1,
        "--max-length": 32, "--window": 32, "--lora-r": 4, "--lora-alpha": 8, "--device": "cpu",
    }  # fmt: skip
    assert main(["train", *(str(part) for pair in options.items() for part in pair), "--no-bf16"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["sentiment (held-out)"]) == {"accuracy", "macro_f1"}
    assert (output / SPEC_FILE).is_file()
    assert json.loads((output / "metrics.json").read_text())["steps"] == 1
