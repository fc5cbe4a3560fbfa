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


def test_label_ids_read_a_data_set_file_and_write_label_names(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--label-ids sentiment` reads TFNS-style ids (0 Bearish, 1 Bullish, 2 Neutral) as `finmon train` does; the
    written train.csv is a label file that `finmon adapt --labels` reads (one row per text, case-folded)."""
    rows = [(f"tweet number {i}", str(i % 3)) for i in range(30)] + [("TWEET NUMBER 0", "1")]
    data = write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    argv = ["split", str(data), "--label-ids", "sentiment", "--test", "0.8", "--seed", "5", "--out"]
    assert main([*argv, str(tmp_path / "out"), "--model", str(tiny_model_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == {"train": 6, "test": 24, "out": str(tmp_path / "out")}
    written = read(tmp_path / "out" / "train.csv") + read(tmp_path / "out" / "test.csv")
    names = {r["text"].casefold(): r["sentiment"] for r in written}
    assert names["tweet number 0"] == "positive" and names["tweet number 1"] == "positive"
    assert names["tweet number 2"] == "neutral" and names["tweet number 3"] == "negative" and len(written) == 30


def test_label_ids_name_the_line_of_an_unknown_id(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "train.csv", ["text", "label"], [("oil falls", "0"), ("oil rises", "7")])
    argv = ["split", str(data), "--label-ids", "sentiment", "--test", "0.5", "--out", str(tmp_path / "out")]
    assert main([*argv, "--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("finmon split: ") and ":3: unknown sentiment label '7'" in err
    assert not (tmp_path / "out").exists()
