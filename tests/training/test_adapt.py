"""`finmon adapt` on the tiny models: a loadable directory with before/after on its card, continued from a LoRA
adapter or over a full encoder; bad input exits 2 and writes nothing; the pieces (loss, split, draws) alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monitor.app.cli import main
from monitor.labels.records import Label
from monitor.scoring.modeldir import TASKS, ModelSpec
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.helpers import write_csv
from tests.training.conftest import TinyArgs
from training.adapt import AdaptError, epoch_rows, examples_from_labels, holdout_share, label_maps, split_labels
from training.distill import adapt_loss
from training.labelled_files import IGNORE
from training.train import prepare, train

pytestmark = pytest.mark.usefixtures("no_finmon_env")

WORDS = ["shares", "rise", "fall", "profit", "loss", "bank", "oil", "record", "deal", "probe", "rates", "gold"]
SENTIMENTS = ["negative", "neutral", "positive"]


def label_rows(n: int) -> list[tuple[str, str]]:
    """n distinct headline-like texts with sentiments in a fixed rotation."""
    return [(f"{WORDS[i % 12]} {WORDS[(i * 5 + 3) % 12]} item {i}", SENTIMENTS[i % 3]) for i in range(n)]


def adapt_argv(model: Path, labels: Path, output: Path, *extra: str) -> list[str]:
    news = labels.parent / "news.txt"
    news.write_text("\n".join(f"{w} market news {i}" for i, w in enumerate(WORDS)) + "\n")
    return [
        "adapt",
        "--model",
        str(model),
        "--labels",
        str(labels),
        "--output",
        str(output),
        "--unlabelled",
        str(news),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--max-length",
        "32",
        "--lr",
        "1e-2",
        *extra,
    ]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".adapting-" in p.name or p.name.endswith(".replaced"))


def test_adapt_writes_a_loadable_model_with_before_and_after(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], label_rows(30))
    valid = write_csv(tmp_path / "valid.csv", ["text", "label"], [(t, "0") for t, _ in label_rows(6)])
    output = tmp_path / "adapted"
    code = main(adapt_argv(tiny_model_dir, labels, output, "--valid-sentiment", str(valid)))
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out[out.index("{") :])
    assert set(summary["reports"]) == {"sentiment (held-out labels)", "sentiment (valid)"}

    spec = ModelSpec.load(output)
    assert spec.name == ModelSpec.load(tiny_model_dir).name and "+adapt." in spec.version
    assert spec.adapter == "adapter" and (output / "encoder").is_dir() and spec.tokenizer == "tokenizer"
    scorer = Scorer.from_settings(ModelSettings(path=str(output), device="cpu"))
    assert len(scorer.score(["bank shares rise"])) == 1
    assert (output / "heads.safetensors").stat().st_mode & 0o777 == 0o644
    metrics = json.loads((output / "metrics.json").read_text())
    held = metrics["reports"]["sentiment (held-out labels)"]
    assert metrics["labels"] == {"train": 24, "held_out": 6} and held["before"]["n"] == held["after"]["n"] == 6
    card = (output / "README.md").read_text()
    assert "before: accuracy / macro-F1" in card and "sentiment (held-out labels)" in card and "| positive |" in card
    assert leftovers(tmp_path) == []


def test_adapt_continues_a_lora_model_and_keeps_its_base(
    tiny_base: Path,
    tmp_path: Path,
    sentiment_csv: Path,
    topic_csv: Path,
    tiny_args: TinyArgs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = tmp_path / "lora"
    train(prepare(tiny_args(tiny_base, start, "lora", sentiment_csv, topic_csv)), "test")
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment", "topic"], [(t, s, "") for t, s in label_rows(8)])
    output = tmp_path / "adapted"
    assert main(adapt_argv(start, labels, output, "--version", "9", "--name", "team-model")) == 0, capsys.readouterr()
    spec = ModelSpec.load(output)
    assert (spec.name, spec.version, spec.base, spec.adapter) == ("team-model", "9", str(tiny_base), "adapter")
    before = (start / "adapter" / "adapter_model.safetensors").read_bytes()
    assert (output / "adapter" / "adapter_model.safetensors").read_bytes() != before  # it learnt
    assert sorted(p.name for p in (output / "adapter").iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    assert json.loads((output / "metrics.json").read_text())["labels"]["held_out"] == 0  # 8 labels: all learnt
    assert "nothing was held out" in (output / "README.md").read_text()


@pytest.mark.parametrize(
    ("content", "encoding", "reason"),
    [
        ("text,sentiment\nshares rise,bullishish\n", "utf-8", "bullishish"),
        ("text,sentiment\n,positive\nshares rise,positive\n", "utf-8", "labels.csv"),
        ("words,mood\nshares rise,positive\n", "utf-8", "labels.csv"),
        ("text,sentiment\nVerbände fürchten Einbußen,negative\n", "utf-16", "labels.csv"),
    ],
)
def test_bad_labels_exit_2_and_write_nothing(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, encoding: str, reason: str
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_bytes(content.encode(encoding))
    output = tmp_path / "out" / "adapted"
    assert main(adapt_argv(tiny_model_dir, labels, output)) == 2
    err = capsys.readouterr().err
    assert err.startswith("finmon adapt: ") and reason in err
    assert not (tmp_path / "out").exists()


def test_refuses_to_replace_a_directory_that_is_not_a_model(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], label_rows(6))
    output = tmp_path / "precious"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    assert main(adapt_argv(tiny_model_dir, labels, output)) == 2
    assert "--overwrite" in capsys.readouterr().err and [p.name for p in output.iterdir()] == ["notes.txt"]


def test_missing_output_or_model_exit_2(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], label_rows(6))
    assert main(["adapt", "--labels", str(labels)]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["adapt", "--labels", str(labels), "--output", str(tmp_path / "o"), "--model", str(tmp_path)]) == 2
    assert "not a finmon model directory" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_relabelled_text_keeps_its_last_label_and_unknown_labels_are_named(tiny_model_dir: Path) -> None:
    maps = label_maps(ModelSpec.load(tiny_model_dir))
    labels = [Label("Oil falls", "negative"), Label(" Oil  falls", "positive", "Energy | Oil"), Label("  ", "neutral")]
    (only,) = examples_from_labels(labels, maps)
    assert only.label("sentiment") == maps["sentiment"].index("positive")
    assert only.label("topic") == maps["topic"].index("Energy | Oil")
    with pytest.raises(AdaptError, match=r"label 1 .*unknown sentiment label .up."):
        examples_from_labels([Label("Oil rises", "up")], maps)


def test_holdout_is_seeded_stratified_and_sized(tiny_model_dir: Path) -> None:
    maps = label_maps(ModelSpec.load(tiny_model_dir))
    examples = examples_from_labels([Label(t, s) for t, s in label_rows(60)], maps)
    first, again = split_labels(examples, 0.2, 13), split_labels(examples, 0.2, 13)
    assert first == again and len(first.held) == 12 and len(first.train) == 48
    held = [ex.label("sentiment") for ex in first.held]
    assert sorted(held.count(i) for i in range(3)) == [4, 4, 4]
    assert len(split_labels(examples, 15, 13).held) == 15
    assert holdout_share(0.2, 19) == 0.0
    with pytest.raises(AdaptError, match="leaves nothing"):
        holdout_share(60, 60)


def test_each_epoch_has_every_label_and_a_fresh_draw() -> None:
    rows = epoch_rows(4, 100, 2.0, seed=1)
    first, second = rows(0), rows(1)
    assert first[:4] == second[:4] == [0, 1, 2, 3] and len(first) == len(second) == 12
    assert first != second and first == rows(0) and all(4 <= r < 104 for r in first[4:])
    assert len(epoch_rows(4, 3, 2.0, seed=1)(0)) == 7  # the draw never exceeds the pool


def test_the_starting_model_speaks_only_where_a_head_has_no_label() -> None:
    logits = {"topic": torch.tensor([[2.0, 0.0], [0.0, 2.0]]), "sentiment": torch.tensor([[1.0, 0.0], [0.0, 1.0]])}
    teacher = {"topic": torch.tensor([[0.0, 5.0], [0.0, 2.0]]), "sentiment": torch.tensor([[0.0, 9.0], [0.0, 9.0]])}
    labelled = {"topic": torch.tensor([IGNORE, IGNORE]), "sentiment": torch.tensor([0, 1])}
    none = {"topic": torch.tensor([IGNORE, IGNORE]), "sentiment": torch.tensor([IGNORE, IGNORE])}
    with_labels = adapt_loss(logits, labelled, teacher, None, 1.0, 1.0)
    # the sentiment teacher (9.0 against the labels) adds nothing where sentiment is labelled
    changed = {**teacher, "sentiment": torch.tensor([[9.0, 0.0], [0.0, -9.0]])}
    assert torch.isclose(with_labels, adapt_loss(logits, labelled, changed, None, 1.0, 1.0))
    unlabelled = adapt_loss(logits, none, teacher, None, 1.0, 1.0)
    assert float(unlabelled) > 0 and torch.isclose(adapt_loss(logits, none, teacher, None, 0.5, 1.0), unlabelled / 2)
    assert float(adapt_loss(logits, none, {t: v.clone() for t, v in logits.items()}, None, 1.0, 1.0)) == 0.0
    assert set(TASKS) == set(logits)
