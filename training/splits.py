"""A fixed, seeded, stratified train/test split of a label file: the same split `finmon adapt --holdout` makes.

`finmon split --label-ids HEAD` also reads data-set files whose `label` column holds class ids (the shared
TFNS/TFNT splits: `text,label` with 0 Bearish, 1 Bullish, 2 Neutral, or topic ids 0..19), with the same id map
`finmon train` uses, and writes label names: a stratified sample of such a file becomes a label file that
`finmon adapt --labels` reads.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from monitor.labels.files import read_label_files
from monitor.labels.records import Label, text_key
from monitor.scoring.modeldir import TASKS, ModelSpec, model_dir_for
from training.adapt import LabelSets, examples_from_labels, label_maps, split_labels
from training.label_maps import LabelMap
from training.labelled_files import IGNORE, DataSource, Example, read_examples


def split_label_set(labels: Sequence[Label], spec: ModelSpec, test: float, seed: int) -> LabelSets:
    """`test` held out (a share, or a count of labels), stratified by the labels, as `finmon adapt` holds out."""
    return split_labels(examples_from_labels(labels, label_maps(spec)), test, seed)


def split_id_files(paths: Sequence[Path], head: str, spec: ModelSpec, test: float, seed: int) -> LabelSets:
    """Files with a `label` column of HEAD's data-set ids (or names), split as `split_label_set` splits labels;
    one example per text, texts that differ only in case or spacing being one (the key `finmon labels import`
    and `finmon adapt --labels` use, so the written file reads back without conflicts): a later row replaces."""
    label_map = {head: LabelMap(head, spec.labels[head])}  # ids as `finmon train` maps them (training.label_maps)
    by_text: dict[str, Example] = {}
    for path in paths:
        for example in read_examples(DataSource(Path(path), {head: "label"}), label_map):
            key = text_key(example.text)
            by_text.pop(key, None)
            by_text[key] = example
    return split_labels(list(by_text.values()), test, seed)


def write_split(examples: Sequence[Example], spec: ModelSpec, path: Path) -> None:
    """CSV with `text` and a column per head that has any label (label names; blank where a text has none)."""
    heads = [t for t, _ in enumerate(TASKS) if any(ex.labels[t] != IGNORE for ex in examples)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", *(TASKS[t] for t in heads)])
        for ex in examples:
            names = [spec.labels[TASKS[t]][ex.labels[t]] if ex.labels[t] != IGNORE else "" for t in heads]
            writer.writerow([ex.text, *names])


def split_files(
    paths: Sequence[Path], model: str, test: float, seed: int, label_ids: str | None = None
) -> tuple[ModelSpec, LabelSets]:
    """`finmon split`: the model whose label names the files use, and the files split (label files, or with
    `label_ids` data-set files of that head's ids)."""
    spec = ModelSpec.load(model_dir_for(model))
    if label_ids:
        return spec, split_id_files(paths, label_ids, spec, test, seed)
    labels = read_label_files(paths, spec.labels["sentiment"], spec.labels["topic"])
    return spec, split_label_set(labels, spec, test, seed)


def write_splits(sets: LabelSets, spec: ModelSpec, out: Path) -> None:
    """OUT/train.csv and OUT/test.csv (OUT made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    write_split(sets.train, spec, out / "train.csv")
    write_split(sets.held, spec, out / "test.csv")
