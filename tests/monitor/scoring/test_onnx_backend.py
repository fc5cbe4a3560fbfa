"""The ONNX int8 backend (exported and cached on first use) gives torch's labels on sample texts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.scoring.modeldir import TASKS
from monitor.scoring.network import load_model
from monitor.scoring.onnx_backend import OnnxRunner, export_fp32
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.helpers import SAMPLE_HEADLINES

pytest.importorskip("onnxruntime")

TEXTS = [*SAMPLE_HEADLINES, "microsoft to acquire company in new deal " * 6, "exxon raises dividend"]


def scorer(model_dir: Path, backend: str, cache: Path) -> Scorer:
    settings = ModelSettings(path=str(model_dir), device="cpu", backend=backend, onnx_cache_dir=cache)  # type: ignore[arg-type]
    return Scorer.from_settings(settings)


def test_fp32_export_gives_torch_logits(short_model_dir: Path, tmp_path: Path) -> None:
    model, tokenizer, _ = load_model(short_model_dir)
    export_fp32(model, tmp_path / "model.onnx")
    assert not any(module.training for module in model.modules())  # exporting leaves dropout off
    encoded = tokenizer(TEXTS, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        expected = model(encoded["input_ids"], encoded["attention_mask"])
    got = OnnxRunner(tmp_path / "model.onnx")(encoded["input_ids"].numpy(), encoded["attention_mask"].numpy())
    for task in TASKS:
        torch.testing.assert_close(torch.from_numpy(got[task]), expected[task], atol=1e-4, rtol=1e-4)


def test_int8_scorer_gives_torch_labels_and_caches_the_export(short_model_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "onnx"
    onnx = scorer(short_model_dir, "onnx", cache)
    exported = sorted(cache.rglob("*.onnx"))
    assert len(exported) == 1 and exported[0].name == "model.int8.onnx"
    stamp = exported[0].stat().st_mtime_ns

    reference = scorer(short_model_dir, "torch", cache).score(TEXTS)
    predictions = onnx.score(TEXTS)
    assert [p.sentiment for p in predictions] == [p.sentiment for p in reference]
    assert [p.topic for p in predictions] == [p.topic for p in reference]
    assert [p.windows for p in predictions] == [p.windows for p in reference]
    for p, r in zip(predictions, reference, strict=True):
        assert p.sentiment_probs == pytest.approx(r.sentiment_probs, abs=0.02)

    scorer(short_model_dir, "onnx", cache)  # a second start reuses the cached file
    assert sorted(cache.rglob("*.onnx")) == exported and exported[0].stat().st_mtime_ns == stamp
