"""`finmon bench adapt` on the tiny model: the phases it times and the labels it used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app.cli import main
from tests.helpers import write_csv

pytestmark = pytest.mark.usefixtures("no_finmon_env")


def test_bench_adapt_reports_each_phase(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"shares {w} item {i}", ("negative", "neutral", "positive")[i % 3]) for i, w in enumerate("abcdefgh" * 3)]
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], rows)
    argv = ["bench", "adapt", "--labels", str(labels), "--limit", "21", "--threads", "1"]
    assert main([*argv, "--model", str(tiny_model_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["labels"], result["learnt"] + result["held_out"], result["threads"]) == (21, 21, 1)
    assert result["steps"] > 0 and result["wall_seconds"] >= result["prepare_seconds"] + result["train_seconds"]
    assert "sentiment (held-out labels)" in result["held_out_macro_f1"]
    assert list(tmp_path.iterdir()) == [labels]
