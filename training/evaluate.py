"""Scoring a labelled file with a finmon scorer and reporting accuracy, macro-F1 and per-class figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.contracts import BatchScorer, Prediction
from monitor.scoring.modeldir import TASKS
from training.classification_report import classification_report
from training.label_maps import LabelMap
from training.labelled_files import DataSource, read_examples


def predicted_label(prediction: Prediction, task: str) -> str:
    return prediction.topic if task == "topic" else prediction.sentiment


def evaluate_file(
    scorer: BatchScorer,
    model_labels: dict[str, list[str]],
    path: Path,
    task: str,
    text_column: str = "text",
    label_column: str = "label",
    batch: int = 512,
) -> dict[str, Any]:
    """Score every text of a labelled file exactly as the worker would (raw text in) and compare."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    label_map = LabelMap(task, model_labels[task])
    examples = read_examples(DataSource(path, {task: label_column}, text_column), {task: label_map}, normalise=False)
    texts = [ex.text for ex in examples]
    predictions: list[Prediction] = []
    for start in range(0, len(texts), batch):
        predictions.extend(scorer.score(texts[start : start + batch]))
    gold = [ex.label(task) for ex in examples]
    pred = [label_map.index(predicted_label(p, task)) for p in predictions]
    report = classification_report(gold, pred, label_map.names)
    return {"model": scorer.name, "version": scorer.version, "data": str(path), "task": task, **report}
