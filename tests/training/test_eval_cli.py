"""`finmon eval` on small files: the JSON report, labels as names or shared/data ids, and unknown labels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from monitor.app.cli import main
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests import helpers
from training.label_maps import DATASET_IDS

pytestmark = pytest.mark.usefixtures("no_finmon_env")

ROWS = [  # text, sentiment id (0 Bearish, 1 Bullish, 2 Neutral), topic id
    ("fed cut rates and stocks rise", "1", "1"),
    ("oil price falls as growth slows", "0", "6"),
    ("apple earnings beat record revenue", "1", "5"),
    ("bank shares plunge after sec probe", "0", "12"),
    ("gold prices up on inflation report", "1", "10"),
    ("dollar down against the euro", "2", "8"),
    ("bond yields rise on jobs report https://t.co/abc", "2", "3"),
    ("exxon raises dividend", "1", "4"),
]


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    return helpers.write_csv(path, ("text", "label"), rows)


def run_eval(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["eval", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else None, err


def test_report_matches_the_scorer_predictions(
    short_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = [DATASET_IDS["sentiment"][s] for _, s, _ in ROWS]
    data = write_csv(tmp_path / "names.csv", [(t, g) for (t, _, _), g in zip(ROWS, gold, strict=True)])
    code, report, _ = run_eval(capsys, "--model", str(short_model_dir), "--data", str(data), "--task", "sentiment")
    assert code == 0 and report is not None
    assert report["task"] == "sentiment" and report["n"] == len(ROWS) and "confusion_matrix" not in report

    scorer = Scorer.from_settings(ModelSettings(path=str(short_model_dir), device="cpu"))
    pred = [p.sentiment for p in scorer.score([t for t, _, _ in ROWS])]
    assert report["accuracy"] == pytest.approx(sum(p == g for p, g in zip(pred, gold, strict=True)) / len(ROWS))
    f1s = []
    for name, row in report["per_class"].items():
        hits = sum(p == g == name for p, g in zip(pred, gold, strict=True))
        assert row["support"] == gold.count(name)
        assert row["recall"] == pytest.approx(hits / gold.count(name) if gold.count(name) else 0.0)
        assert row["precision"] == pytest.approx(hits / pred.count(name) if pred.count(name) else 0.0)
        p, r = row["precision"], row["recall"]
        assert row["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
        if name in gold or name in pred:
            f1s.append(row["f1"])
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}
    assert report["macro_f1"] == pytest.approx(sum(f1s) / len(f1s))


@pytest.mark.parametrize("task", ["sentiment", "topic"])
def test_dataset_ids_and_names_give_the_same_report(
    task: str, short_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    column = 1 if task == "sentiment" else 2
    ids = write_csv(tmp_path / "ids.csv", [(row[0], row[column]) for row in ROWS])
    names = write_csv(tmp_path / "names.csv", [(row[0], DATASET_IDS[task][row[column]]) for row in ROWS])
    model = ["--model", str(short_model_dir), "--task", task, "--matrix"]
    code_ids, by_ids, _ = run_eval(capsys, *model, "--data", str(ids))
    code_names, by_names, _ = run_eval(capsys, *model, "--data", str(names))
    assert code_ids == code_names == 0 and by_ids is not None and by_names is not None
    assert by_ids.pop("data") != by_names.pop("data")
    assert by_ids == by_names
    assert sum(map(sum, by_ids["confusion_matrix"])) == len(ROWS)
    assert [sum(row) for row in by_ids["confusion_matrix"]] == [
        by_ids["per_class"][name]["support"] for name in by_ids["labels"]
    ]


def test_unknown_label_exits_2_naming_the_label(
    short_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "bad.csv", [("fed cut rates", "positive"), ("oil falls", "sideways")])
    code, _, err = run_eval(capsys, "--model", str(short_model_dir), "--data", str(data), "--task", "sentiment")
    assert code == 2
    assert "finmon eval: " in err and f"{data}:3" in err and "unknown sentiment label 'sideways'" in err


def test_missing_data_file_exits_2(short_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_eval(
        capsys, "--model", str(short_model_dir), "--data", str(tmp_path / "no.csv"), "--task", "topic"
    )
    assert code == 2 and "no.csv: no such file" in err
