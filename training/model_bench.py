"""The model's benchmarks, one run each. `finmon bench scorer`: docs/s of the finmon scorer vs a naive fp32
baseline on the same texts; `finmon bench adapt`: the wall time of `finmon adapt` by phase.

The baseline is what a first attempt looks like: the same model in torch fp32, batches of 64 texts in arrival
order, each padded to (and cut at) the model's window length. Label agreement shows what the faster path costs in
answers: int8 rounding, and texts longer than a window, which the scorer reads as several overlapping windows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch

from monitor.labels.records import Label
from monitor.scoring.modeldir import TASKS
from monitor.scoring.scorer import Scorer
from monitor.scoring.textnorm import normalize
from monitor.stage_settings import ModelSettings
from training.labelled_files import DataError, read_rows

DEFAULT_TEXTS = Path("..") / "shared" / "data" / "tfns" / "valid.csv"  # both benchmarks' default, from the cwd
BASELINE_BATCH = 64
SCORE_CALL = 512  # texts per Scorer.score call (as `finmon eval`); the scorer length-sorts within each call
WARMUP = 32

T = TypeVar("T")


class TextsError(ValueError):
    """A texts file the benchmarks cannot read; the caller names the option that gave it."""


def load_texts(path: Path | None, limit: int) -> list[str]:
    """The non-empty `text` column of a CSV/JSONL file, the first `limit` rows (0 = all)."""
    path = path or DEFAULT_TEXTS
    if not path.is_file():
        raise TextsError(f"{path} not found (give a CSV/JSONL file with a text column)")
    try:
        texts = [row["text"] for _, row in read_rows(path) if row.get("text")]
    except DataError as exc:
        raise TextsError(str(exc)) from None
    if not texts:
        raise TextsError(f"{path} has no text column or no rows")
    return texts[:limit] if limit > 0 else texts


def finmon_labels(scorer: Scorer, texts: Sequence[str]) -> dict[str, list[str]]:
    """Labels of the finmon scorer (it normalises, windows, length-sorts and pads per micro-batch)."""
    predictions = []
    for start in range(0, len(texts), SCORE_CALL):
        predictions.extend(scorer.score(texts[start : start + SCORE_CALL]))
    return {"topic": [p.topic for p in predictions], "sentiment": [p.sentiment for p in predictions]}


def baseline_labels(scorer: Scorer, texts: Sequence[str]) -> dict[str, list[str]]:
    """Labels of the naive path: torch fp32, arrival-order batches padded to the window length."""
    model, labels = scorer.model.eval(), scorer.spec.labels  # load_model gives fp32 weights
    out: dict[str, list[str]] = {task: [] for task in TASKS}
    with torch.inference_mode():
        for start in range(0, len(texts), BASELINE_BATCH):
            encoded = scorer.tokenizer(
                [normalize(text) for text in texts[start : start + BASELINE_BATCH]],
                truncation=True,
                max_length=scorer.max_length,
                padding="max_length",
                return_tensors="pt",
            )
            logits = model(encoded["input_ids"].to(scorer.device), encoded["attention_mask"].to(scorer.device))
            for task in TASKS:
                out[task].extend(labels[task][i] for i in logits[task].argmax(-1).tolist())
    return out


def timed(run: Callable[[Scorer, Sequence[str]], T], scorer: Scorer, texts: Sequence[str]) -> tuple[T, float]:
    """Result and seconds of `run` after an untimed warm-up on the first texts."""
    run(scorer, texts[:WARMUP])
    began = time.perf_counter()
    result = run(scorer, texts)
    return result, time.perf_counter() - began


def agreement(a: Sequence[str], b: Sequence[str]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / max(1, len(a))


def bench_scorer(
    model_settings: ModelSettings, sample: Sequence[str], model: Path | None, backend: str, precision: str = "int8"
) -> dict[str, Any]:
    """Docs/s of both paths on the same texts, the speed-up and the share of identical labels per task."""
    update: dict[str, Any] = {"backend": backend, "onnx_precision": precision}
    if model is not None:
        update["path"] = str(model)
    if backend == "onnx":
        update["device"] = "cpu"  # ONNX Runtime runs on the CPU: the baseline runs there too
    scorer = Scorer.from_settings(model_settings.model_copy(update=update))  # exports/caches ONNX here, untimed
    ours, ours_s = timed(finmon_labels, scorer, sample)
    naive, naive_s = timed(baseline_labels, scorer, sample)
    return {
        "texts": len(sample),
        "model": f"{scorer.name} {scorer.version}",
        "device": str(scorer.device),
        "finmon": {
            "backend": f"onnx {precision}" if backend == "onnx" else backend,
            "max_batch": scorer.max_batch,
            "seconds": ours_s,
            "docs_per_s": len(sample) / ours_s,
        },
        "baseline": {
            "backend": "torch fp32",
            "batch": BASELINE_BATCH,
            "padded_to": scorer.max_length,
            "seconds": naive_s,
            "docs_per_s": len(sample) / naive_s,
        },
        "speedup": naive_s / ours_s,
        "label_agreement": {task: agreement(ours[task], naive[task]) for task in ("sentiment", "topic")},
    }


def bench_adapt(labels: Sequence[Label], limit: int, model: str, threads: int | None) -> dict[str, Any]:
    """`finmon adapt` with its default options on the first `limit` labels, into a temporary directory."""
    import os
    import tempfile

    from training.adapt import run
    from training.args import AdaptArgs

    chosen = list(labels)[:limit] if limit > 0 else list(labels)
    with tempfile.TemporaryDirectory(prefix="finmon-bench-adapt-") as scratch:
        args = AdaptArgs(output=os.path.join(scratch, "model"), labels=("bench",), model=model, threads=threads)
        metrics = run(args, chosen, command="finmon bench adapt")
    steps, train = metrics["steps"], metrics["train_seconds"]
    return {
        "labels": len(chosen),
        "learnt": metrics["labels"]["train"],
        "held_out": metrics["labels"]["held_out"],
        "unlabelled_texts": metrics["unlabelled_texts"],
        "threads": threads or torch.get_num_threads(),
        "wall_seconds": metrics["wall_seconds"],
        "prepare_seconds": metrics["prepare_seconds"],
        "train_seconds": train,
        "steps": steps,
        "seconds_per_step": round(train / max(1, steps), 3),
        "held_out_macro_f1": {
            name: {when: round(report["macro_f1"], 4) for when, report in pair.items()}
            for name, pair in metrics["reports"].items()
        },
    }
