"""Two optimiser steps on a tiny random model (LoRA and full), export, and the exported directory loaded back
as the worker loads it gives the in-memory model's logits and probabilities."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from monitor.news.schemas import SENTIMENT_LABELS
from monitor.scoring.modeldir import SPEC_FILE, ModelSpec
from monitor.scoring.network import load_model
from monitor.scoring.scorer import Scorer
from monitor.scoring.textnorm import normalize
from monitor.stage_settings import ModelSettings
from training.train import finish, prepare

TEXTS = ["Fed cuts rates; stocks rise https://t.co/x", "oil price falls", "apple earnings beat, shares jump"]


def logits_of(model: torch.nn.Module, tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    encoded = tokenizer(
        [normalize(t) for t in texts], padding=True, truncation=True, max_length=32, return_tensors="pt"
    )
    model.eval()
    with torch.inference_mode():
        return model(encoded["input_ids"], encoded["attention_mask"])


def half_rounded(model: torch.nn.Module, mode: str) -> None:
    """Round the weights the export stores in fp16 (LoRA factors, heads) the way it does."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith("heads.") or (mode == "lora" and "lora_" in name):
                param.copy_(param.half().float())


@pytest.mark.parametrize("mode", ["lora", "full"])
def test_two_steps_export_and_load_round_trip(
    mode: str, tiny_args: Any, tiny_base: Path, sentiment_csv: Path, topic_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "model"
    prepared = prepare(tiny_args(tiny_base, output, mode, sentiment_csv, topic_csv))
    model = prepared.trainer.model
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    progress = prepared.trainer.fit()
    assert progress.global_step == 2 and len(progress.history) == 2

    trained = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert any(name.startswith("heads.") for name in trained)
    if mode == "lora":
        assert any("lora_B" in name for name in trained)
        assert all("lora_" in name or name.startswith("heads.") for name in trained)  # the base stays frozen
    else:
        assert any(name.startswith("encoder.encoder.layer.") for name in trained)

    heads_before = {task: head.bias.detach().clone() for task, head in model.heads.items()}
    metrics = finish(prepared, 1.0, "finmon train (test)")
    assert metrics["steps"] == 2
    # the prior correction was decided per head on the held-out split, and folded into the bias if kept
    assert metrics["calibration"] and set(metrics["calibration"]) <= {"sentiment", "topic"}  # heads held out
    for task, adjustment in metrics["calibration"].items():
        moved = model.heads[task].bias.detach() - heads_before[task]
        expected = torch.tensor(adjustment["offsets"]) if adjustment["applied"] else torch.zeros_like(moved)
        assert torch.allclose(moved, expected, atol=1e-6), task
        assert f"- {task} head: prior correction" in (output / "README.md").read_text()
    spec = ModelSpec.load(output)
    assert spec.name == "tiny-trained" and spec.max_length == 32
    assert (spec.adapter is not None) == (mode == "lora")
    stored = load_file(str(output / "heads.safetensors"))
    if mode == "lora":
        stored |= load_file(str(output / "adapter" / "adapter_model.safetensors"))
        assert not any("pooler" in key for key in stored)  # the pooler is unused by mean pooling
    assert {t.dtype for t in stored.values()} == {torch.float16}
    assert json.loads((output / SPEC_FILE).read_text())["extra"]["mode"] == mode
    assert (output / "README.md").is_file() and (output / "metrics.json").is_file()

    half_rounded(model, mode)  # the export stores adapter and heads in fp16: compare against the same weights
    expected = logits_of(model.cpu(), prepared.tokenizer, TEXTS)
    loaded, tokenizer, _ = load_model(output)
    got = logits_of(loaded, tokenizer, TEXTS)
    for task in ("topic", "sentiment"):
        torch.testing.assert_close(got[task], expected[task], atol=1e-5, rtol=1e-4)

    predictions = Scorer.from_settings(ModelSettings(path=str(output), device="cpu", backend="torch")).score(TEXTS)
    sentiment = torch.softmax(expected["sentiment"], -1)
    order = [spec.labels["sentiment"].index(name) for name in SENTIMENT_LABELS]
    topic = torch.softmax(expected["topic"], -1)
    for i, p in enumerate(predictions):
        assert p.sentiment_probs == pytest.approx(sentiment[i, order].tolist(), abs=1e-5)
        assert p.topic == spec.labels["topic"][int(topic[i].argmax())]
        assert p.topic_confidence == pytest.approx(float(topic[i].max()), abs=1e-5)


def test_a_news_set_with_both_labels_is_reported_per_head_on_the_card(
    tiny_args: Any, tiny_base: Path, sentiment_csv: Path, topic_csv: Path, tmp_path: Path
) -> None:
    news = tmp_path / "news_eval.csv"
    news.write_text("text,sentiment,topic\nBank shares plunge after probe,negative,Financials\n")
    args = dataclasses.replace(
        tiny_args(tiny_base, tmp_path / "model", "lora", sentiment_csv, topic_csv), max_steps=1, eval_multi=(str(news),)
    )
    prepared = prepare(args)
    prepared.trainer.fit()
    reports = finish(prepared, 1.0, "finmon train (test)")["reports"]
    assert reports["sentiment (news_eval)"]["n"] == reports["topic (news_eval)"]["n"] == 1
    assert reports["sentiment (news_eval)"]["per_class"]["negative"]["support"] == 1
    card = (tmp_path / "model" / "README.md").read_text()
    assert "## sentiment (news_eval)" in card and "confusion_topic_news_eval.png" in card
    assert (tmp_path / "model" / "confusion_sentiment_news_eval.png").is_file()


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(
    tiny_args: Any, tiny_base: Path, sentiment_csv: Path, topic_csv: Path, tmp_path: Path
) -> None:
    straight = prepare(tiny_args(tiny_base, tmp_path / "straight", "lora", sentiment_csv, topic_csv)).trainer
    straight.fit()

    args = dataclasses.replace(
        tiny_args(tiny_base, tmp_path / "resumed", "lora", sentiment_csv, topic_csv), resume=True
    )
    first = prepare(args).trainer  # --resume with no checkpoint yet starts at step 0

    def stop_at_step_two(step: int, loss: float) -> None:
        if step == 2:
            raise Interrupted  # step 1 was checkpointed (eval_steps=1); step 2's update is lost

    with pytest.raises(Interrupted):
        first.fit(stop_at_step_two)
    resumed = prepare(args).trainer
    progress = resumed.fit()

    assert progress.global_step == 2 and [h["step"] for h in progress.history] == [1, 2]
    assert progress.history == straight.progress.history
    # the weights after step 2 (fit() ends on the best ones, which may be step 1's), and the optimiser's moments
    mine = torch.load(resumed.checkpoint_dir / "last.pt", weights_only=False)
    theirs = torch.load(straight.checkpoint_dir / "last.pt", weights_only=False)
    assert mine["model"].keys() == theirs["model"].keys()
    for name, tensor in mine["model"].items():
        assert torch.allclose(tensor, theirs["model"][name], atol=1e-6), name
    for index, state in mine["optimizer"]["state"].items():
        assert torch.allclose(state["exp_avg_sq"], theirs["optimizer"]["state"][index]["exp_avg_sq"]), index


def test_training_time_counts_each_interval_once(
    tiny_args: Any, tiny_base: Path, sentiment_csv: Path, topic_csv: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """Two epochs on a fake clock that moves 10 s per optimiser step: train_seconds is 10 s a step, exactly."""
    import training.trainer as trainer_module

    args = dataclasses.replace(
        tiny_args(tiny_base, tmp_path / "model", "lora", sentiment_csv, topic_csv), epochs=2, max_steps=0, patience=100
    )
    trainer = prepare(args).trainer
    now = [0.0]
    monkeypatch.setattr(trainer_module.time, "monotonic", lambda: now[0])
    step = trainer._step

    def timed_step(batch: Any) -> float:
        now[0] += 10.0
        return step(batch)

    monkeypatch.setattr(trainer, "_step", timed_step)
    progress = trainer.fit()
    assert progress.epoch == 2 and progress.global_step == 2 * trainer.steps_per_epoch
    assert progress.train_seconds == 10.0 * progress.global_step
