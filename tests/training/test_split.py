"""`finmon split`: a fixed, seeded, stratified train/test split of label files, as `finmon adapt` holds out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from monitor.app.cli import main
from tests.helpers import write_csv

pytestmark = pytest.mark.usefixtures("no_finmon_env")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_split_is_fixed_stratified_and_complete(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"headline number {i}", ("negative", "neutral", "positive")[i % 3]) for i in range(30)]
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], rows)
    for out in ("one", "two"):
        argv = ["split", str(labels), "--test", "9", "--seed", "5", "--out", str(tmp_path / out), "--model"]
        assert main([*argv, str(tiny_model_dir)]) == 0
        assert json.loads(capsys.readouterr().out) == {"train": 21, "test": 9, "out": str(tmp_path / out)}
    test, train = read(tmp_path / "one" / "test.csv"), read(tmp_path / "one" / "train.csv")
    assert test == read(tmp_path / "two" / "test.csv") and list(test[0]) == ["text", "sentiment"]
    assert sorted(r["sentiment"] for r in test) == ["negative"] * 3 + ["neutral"] * 3 + ["positive"] * 3
    assert sorted(r["text"] for r in test + train) == sorted(t for t, _ in rows)


def test_a_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], [("oil falls", "sideways")])
    assert main(["split", str(labels), "--test", "0.2", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("finmon split: ") and not (tmp_path / "out").exists()
