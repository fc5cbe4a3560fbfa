"""A fixed, seeded, stratified train/test split of a label file: the same split `finmon adapt --holdout` makes."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from monitor.labels.records import Label
from monitor.scoring.modeldir import TASKS, ModelSpec
from training.adapt import LabelSets, examples_from_labels, label_maps, split_labels
from training.data import IGNORE, Example


def split_label_set(labels: Sequence[Label], spec: ModelSpec, test: float, seed: int) -> LabelSets:
    """`test` held out (a share, or a count of labels), stratified by the labels, as `finmon adapt` holds out."""
    return split_labels(examples_from_labels(labels, label_maps(spec)), test, seed)


def write_split(examples: Sequence[Example], spec: ModelSpec, path: Path) -> None:
    """CSV with `text` and a column per head that has any label (label names; blank where a text has none)."""
    heads = [t for t, _ in enumerate(TASKS) if any(ex.labels[t] != IGNORE for ex in examples)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", *(TASKS[t] for t in heads)])
        for ex in examples:
            names = [spec.labels[TASKS[t]][ex.labels[t]] if ex.labels[t] != IGNORE else "" for t in heads]
            writer.writerow([ex.text, *names])
