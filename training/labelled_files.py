"""Reading labelled CSV/JSONL files into examples, with errors that name the file, line and problem."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.scoring.modeldir import TASKS
from monitor.scoring.textnorm import normalize
from training.label_maps import LabelError, LabelMap

IGNORE = -100  # label index of a task an example has no label for


class DataError(ValueError):
    """A data file that cannot be used: missing, empty, wrong columns or unknown labels."""


@dataclass(frozen=True)
class Example:
    """One normalised text and its label index per task (IGNORE where it has none)."""

    text: str
    labels: tuple[int, ...]  # in TASKS order

    def label(self, task: str) -> int:
        return self.labels[TASKS.index(task)]


@dataclass(frozen=True)
class DataSource:
    """A file and which of its columns hold the text and each task's label."""

    path: Path
    label_columns: Mapping[str, str]  # task -> column
    text_column: str = "text"


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheet exports start with a BOM
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise DataError(f"{path}: empty file (no header row)")
        for row in reader:
            yield reader.line_num, row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: expected a JSON object per line")
            yield number, {key: "" if value is None else str(value) for key, value in record.items()}


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV (header row) or JSONL (.jsonl/.ndjson/.json) file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        return _jsonl_rows(path)
    return _csv_rows(path)


def _check_columns(source: DataSource, row: Mapping[str, str], number: int) -> None:
    wanted = [source.text_column, *source.label_columns.values()]
    missing = [column for column in wanted if column not in row]
    if missing:
        found = ", ".join(sorted(column for column in row if column is not None)) or "none"  # None: surplus fields
        raise DataError(f"{source.path}:{number}: missing column {', '.join(map(repr, missing))} (found: {found})")


def read_examples(source: DataSource, label_maps: Mapping[str, LabelMap], *, normalise: bool = True) -> list[Example]:
    """All labelled rows of a source as examples (normalised texts unless `normalise=False`, for scorers that
    normalise themselves); rows whose text normalises to nothing are skipped."""
    examples: list[Example] = []
    for number, row in read_rows(source.path):
        _check_columns(source, row, number)
        raw = row[source.text_column] or ""
        text = normalize(raw)
        if not text:
            continue
        labels = [IGNORE] * len(TASKS)
        for task, column in source.label_columns.items():
            value = (row[column] or "").strip()
            if value:
                try:
                    labels[TASKS.index(task)] = label_maps[task].index(value)
                except LabelError as exc:
                    raise DataError(f"{source.path}:{number}: {exc}") from None
        if any(label != IGNORE for label in labels):
            examples.append(Example(text if normalise else raw, tuple(labels)))
    if not examples:
        raise DataError(f"{source.path}: empty file (no labelled rows)")
    return examples


def split_holdout(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A seeded split stratified by (task, label), so rare topic classes appear on both sides."""
    groups: dict[tuple[int, ...], list[Example]] = {}
    for example in examples:
        groups.setdefault(example.labels, []).append(example)
    rng = random.Random(seed)
    train: list[Example] = []
    held: list[Example] = []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_held = round(len(members) * fraction) if len(members) > 1 else 0
        held.extend(members[:n_held])
        train.extend(members[n_held:])
    rng.shuffle(train)
    return train, held
