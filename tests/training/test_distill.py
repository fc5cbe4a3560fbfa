"""Distillation: the soft loss, unlabelled texts, the teacher's cached logits and two steps on a tiny student."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from monitor.scoring.modeldir import SPEC_FILE
from training import distill
from training.labelled_files import IGNORE
from training.train import finish, prepare
from training.trainer import Encoded


def test_soft_loss_is_zero_when_the_student_matches_the_teacher() -> None:
    logits = {"topic": torch.randn(4, 20), "sentiment": torch.randn(4, 3)}
    assert float(distill.soft_loss(logits, logits, 2.0)) == pytest.approx(0.0, abs=1e-6)
    other = {task: value + torch.randn_like(value) for task, value in logits.items()}
    assert float(distill.soft_loss(other, logits, 2.0)) > 0.01


def test_a_batch_without_labels_learns_from_the_teacher_alone() -> None:
    logits = {"topic": torch.randn(2, 20, requires_grad=True), "sentiment": torch.randn(2, 3, requires_grad=True)}
    teacher = {task: torch.randn_like(value) for task, value in logits.items()}
    unlabelled = {"topic": torch.full((2,), IGNORE), "sentiment": torch.full((2,), IGNORE)}
    loss = distill.distill_loss(logits, unlabelled, teacher, None, 0.5, 2.0)
    assert torch.equal(loss, distill.soft_loss(logits, teacher, 2.0))
    labelled = {"topic": torch.tensor([1, IGNORE]), "sentiment": torch.tensor([IGNORE, 2])}
    mixed = distill.distill_loss(logits, labelled, teacher, None, 0.5, 2.0)
    assert float(mixed.detach()) != pytest.approx(float(loss.detach()))
    mixed.backward()
    assert logits["topic"].grad is not None and bool(logits["topic"].grad.abs().sum() > 0)


def test_unlabelled_texts_are_normalised_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "news.txt").write_text("Apple beats estimates https://x.co/a\n\nApple beats estimates\n")
    (tmp_path / "more.jsonl").write_text(json.dumps({"title": "Oil slides as stocks build"}) + "\n")
    examples = distill.read_unlabelled([str(tmp_path / "news.txt"), str(tmp_path / "more.jsonl")], "title")
    assert [ex.text for ex in examples] == ["Apple beats estimates", "Oil slides as stocks build"]
    assert all(ex.labels == (IGNORE, IGNORE) for ex in examples)


def test_unlabelled_texts_without_a_teacher_are_refused(
    tiny_args: Any, tiny_base: Path, sentiment_csv: Path, tmp_path: Path
) -> None:
    args = dataclasses.replace(
        tiny_args(tiny_base, tmp_path / "m", "lora", sentiment_csv, sentiment_csv), unlabelled=("x.txt",)
    )
    with pytest.raises(ValueError, match="--unlabelled texts need a --teacher"):
        args.validate()


def test_student_trains_on_teacher_logits_cached_across_runs(
    tiny_args: Any,
    tiny_base: Path,
    short_model_dir: Path,
    sentiment_csv: Path,
    topic_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "news.txt").write_text("Nvidia shares jump on record revenue\nBank shares plunge after probe\n")
    args = dataclasses.replace(
        tiny_args(tiny_base, tmp_path / "student", "lora", sentiment_csv, topic_csv),
        teacher=str(short_model_dir),
        unlabelled=(str(tmp_path / "news.txt"),),
    )
    prepared = prepare(args)
    train: Encoded = prepared.trainer.train
    assert train.teacher is not None
    assert train.examples[-1].text == "Bank shares plunge after probe"  # unlabelled texts join the training set
    assert {task: rows.shape for task, rows in train.teacher.items()} == {
        "topic": (len(train.examples), 20),
        "sentiment": (len(train.examples), 3),
    }
    assert prepared.trainer.fit().global_step == 2
    finish(prepared, 1.0, "finmon train (test)")
    assert json.loads((Path(args.output) / SPEC_FILE).read_text())["name"] == "tiny-trained"

    def no_teacher(_: Path) -> None:
        raise AssertionError("the cached logits should have been used")

    monkeypatch.setattr(distill, "load_model", no_teacher)
    again = prepare(dataclasses.replace(args, resume=False))
    assert again.trainer.train.teacher is not None
    torch.testing.assert_close(again.trainer.train.teacher["topic"], train.teacher["topic"])


def test_a_teacher_with_other_labels_is_refused(tmp_path: Path, short_model_dir: Path) -> None:
    labels = {"topic": ["a", "b"], "sentiment": ["negative", "neutral", "positive"]}
    with pytest.raises(ValueError, match="topic labels"):
        distill.teacher_logits(str(short_model_dir), ["some text"], labels, 16, tmp_path, torch.device("cpu"))


def test_the_builtin_news_corpus_is_news_style_and_apart_from_the_news_eval_set() -> None:
    from training.news_texts import NEWS_EVAL, _grams, _grams_of

    texts = [ex.text for ex in distill.read_unlabelled(["builtin:news"], "text")]
    assert len(texts) > 2000 and len(set(texts)) == len(texts)
    assert not any("http" in text for text in texts)
    assert sum("$" + "AAPL" in text for text in texts) < len(texts) / 100  # headlines, not tweets
    held = _grams_of(NEWS_EVAL)
    assert held and not any(_grams(text) & held for text in texts)
