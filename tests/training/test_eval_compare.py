"""`finmon eval --compare A B`: both models side by side per class, on label-name, id and two-head files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app.cli import main
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.helpers import write_csv
from training.classification_report import classification_report

pytestmark = pytest.mark.usefixtures("no_finmon_env")

ROWS = [  # text, sentiment, topic
    ("fed cut rates and stocks rise", "positive", "Fed | Central Banks"),
    ("oil price falls as growth slows", "negative", "Energy | Oil"),
    ("apple earnings beat record revenue", "positive", "Earnings"),
    ("bank shares plunge after sec probe", "negative", "Legal | Regulation"),
    ("dollar flat against the euro", "neutral", "Currencies"),
    ("exxon raises dividend", "positive", "Dividend"),
]


def sentiment_report(model: Path) -> dict:
    scorer = Scorer.from_settings(ModelSettings(path=str(model), device="cpu"))
    names = list(scorer.spec.labels["sentiment"])
    pred = [names.index(p.sentiment) for p in scorer.score([t for t, _, _ in ROWS])]
    return classification_report([names.index(s) for _, s, _ in ROWS], pred, names)


def test_compare_prints_both_models_per_class(
    tiny_model_dir: Path, short_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "news.csv", ["text", "label"], [(t, s) for t, s, _ in ROWS])
    assert main(["eval", "--compare", str(tiny_model_dir), str(short_model_dir), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("A = tiny-random 0 (") and lines[1].startswith("B = tiny-random 0 (")
    assert "sentiment (news): n=6" in out
    a, b = sentiment_report(tiny_model_dir), sentiment_report(short_model_dir)
    (macro,) = [line.split() for line in lines if line.startswith("macro-F1")]
    assert macro[1:] == [f"{a['macro_f1']:.3f}", f"{b['macro_f1']:.3f}", f"{b['macro_f1'] - a['macro_f1']:+.3f}"]
    (negative,) = [line.split() for line in lines if line.startswith("negative")]
    row_a, row_b = a["per_class"]["negative"], b["per_class"]["negative"]
    assert negative[1:4] == [f"{row_a[k]:.3f}" for k in ("precision", "recall", "f1")]
    assert negative[4:7] == [f"{row_b[k]:.3f}" for k in ("precision", "recall", "f1")]


def test_compare_reads_both_heads_and_shared_ids_as_json(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    both = write_csv(tmp_path / "both.csv", ["text", "sentiment", "topic"], ROWS)
    assert main(["eval", "--compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(both), "--json"]) == 0
    pairs = json.loads(capsys.readouterr().out)
    assert set(pairs) == {"sentiment (both)", "topic (both)"}
    a, b = pairs["topic (both)"]
    assert a["macro_f1"] == b["macro_f1"] and a["n"] == 6 and "confusion_matrix" not in a

    ids = write_csv(tmp_path / "tfns.csv", ["text", "label"], [(t, "0") for t, _, _ in ROWS])
    assert main(["eval", "--compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(ids)]) == 2
    assert "give --task" in capsys.readouterr().err
    argv = ["eval", "--compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(ids), "--task", "sentiment"]
    assert main(argv) == 0 and "sentiment (tfns): n=6" in capsys.readouterr().out


def test_compare_errors_exit_2(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "bad.csv", ["text", "label"], [("oil falls", "sideways")])
    assert main(["eval", "--compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(data)]) == 2
    assert "give --task" in capsys.readouterr().err
    argv = ["eval", "--compare", str(tiny_model_dir), str(tiny_model_dir), "--data", str(data), "--task", "sentiment"]
    assert main(argv) == 2 and "sideways" in capsys.readouterr().err
    argv = ["eval", "--compare", str(tiny_model_dir), str(tmp_path), "--data", str(data), "--task", "sentiment"]
    assert main(argv) == 2
    assert "not a finmon model directory" in capsys.readouterr().err
    assert main(["eval", "--data", str(data)]) == 2
    assert "--task" in capsys.readouterr().err
