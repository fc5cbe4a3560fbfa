"""Label files in and out (pure: no Elasticsearch): CSV and JSONL rows (`text` + `sentiment` and/or `topic`),
Label Studio JSON exports, and the writers that send labels back out (CSV, Label Studio tasks with the
model's predictions as pre-annotations).

Reading is all or nothing: the first bad row raises `LabelFileError` naming the file, the line (or Label
Studio task) and the reason, so an import never stores half a file. Every read is bounded in bytes before
it is decoded, so a huge or endless file fails fast instead of filling memory.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import quoteattr

from monitor.labels.records import Label, text_key

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 32 * 1024 * 1024  # one label file; ~100k news paragraphs, far beyond a day's labelling
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # all files of one import together
MAX_TEXT_CHARS = 50_000  # one labelled text (a long article); the model reads far less
MAX_LABELS = 200_000  # rows of one import
TEXT_COLUMN, SENTIMENT, TOPIC, LABEL = "text", "sentiment", "topic", "label"
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class LabelFileError(ValueError):
    """A label file that cannot be imported; the message names the file, the line or task, and the reason."""


@dataclass(frozen=True)
class LabelNames:
    """The model's label names per head, matched case-insensitively and without surrounding spaces."""

    sentiments: tuple[str, ...]
    topics: tuple[str, ...]

    def canonical(self, head: str, value: Any) -> str | None:
        """The model's spelling of `value` for `head`; None for blank; ValueError (listing the valid names)
        for anything else, numbers included (a class id means different classes to different models)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            found = self._lookup(head).get(" ".join(value.split()).casefold())
            if found is not None:
                return found
        names = self.sentiments if head == SENTIMENT else self.topics
        shown = value if isinstance(value, str) else json.dumps(value)
        raise ValueError(f"unknown {head} {_short(shown)!r}: one of {', '.join(names)}")

    def _lookup(self, head: str) -> dict[str, str]:
        return _folded(self.sentiments if head == SENTIMENT else self.topics)


@functools.cache
def _folded(names: tuple[str, ...]) -> dict[str, str]:
    return {name.casefold(): name for name in names}


@dataclass(frozen=True)
class Prediction:
    """The model's labels for one text (Label Studio pre-annotations)."""

    sentiment: str | None
    topic: str | None
    score: float | None = None  # the model's confidence, shown by Label Studio to order tasks
    model_version: str | None = None


@dataclass(frozen=True)
class _Row:
    """A parsed row and where it came from (for the error messages)."""

    label: Label
    where: str


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- reading -------------------------------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a byte order mark is fine); any other encoding names the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LabelFileError(f"{name}: line {line}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def _format_of(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LabelFileError(f"{path}: unknown file type {path.suffix!r}: .csv, .tsv, .jsonl or .json (Label Studio)")
    return kind


def _text(value: Any) -> str:
    if value is None:
        raise ValueError("no `text`")
    if not isinstance(value, str):
        raise ValueError("`text` must be a string")
    text = value.strip()
    if not text:
        raise ValueError("empty text")
    if "\0" in text:
        raise ValueError("text contains a NUL character (a binary file?)")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
    return text


def _optional_str(value: Any, field: str, limit: int = 256) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > limit:
        raise ValueError(f"`{field}` must be a string of at most {limit} characters")
    return str(value).strip() or None


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"labelled_at {_short(str(value))!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _first(record: Mapping[str, Any], *keys: str) -> Any:
    return next((record[k] for k in keys if record.get(k) not in (None, "")), None)


def label_of(record: Mapping[str, Any], names: LabelNames) -> Label:
    """One flat record (a CSV/JSONL row, a Label Studio JSON-MIN item) as a Label; ValueError says why not."""
    label = Label(
        text=_text(record.get(TEXT_COLUMN)),
        sentiment=names.canonical(SENTIMENT, record.get(SENTIMENT)),
        topic=names.canonical(TOPIC, record.get(TOPIC)),
        news_id=_optional_str(record.get("news_id"), "news_id"),
        labelled_at=_moment(_first(record, "labelled_at", "updated_at", "created_at")),
        labeller=_optional_str(_first(record, "labeller", "annotator"), "labeller"),
        model_version=_optional_str(record.get("model_version"), "model_version"),
    )
    if label.sentiment is None and label.topic is None:
        raise ValueError("neither a sentiment nor a topic")
    return label


def _delimiter(text: str) -> str:
    """`,`, or `;` where the header is split by semicolons (spreadsheets in locales with decimal commas)."""
    header = text.split("\n", 1)[0]
    return ";" if TEXT_COLUMN in [h.strip().lower() for h in header.split(";")] and "," not in header else ","


class _LabelColumn:
    """A lone `label` column (as many data sets name it) read as the sentiment or the topic: the first
    non-blank value decides, by whose names it is; every later value must then be a name of that head."""

    def __init__(self, names: LabelNames) -> None:
        self.names = names
        self.head: str | None = None

    def apply(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        if LABEL not in record or SENTIMENT in record or TOPIC in record:
            return record
        value = record[LABEL]
        if self.head is None and isinstance(value, str) and value.strip():
            self.head = self._head_of(value, where)
        rest = {key: item for key, item in record.items() if key != LABEL}
        return {**rest, self.head or SENTIMENT: value}

    def _head_of(self, value: str, where: str) -> str:
        for head in (SENTIMENT, TOPIC):
            with contextlib.suppress(ValueError):
                self.names.canonical(head, value)
                return head
        raise LabelFileError(
            f"{where}: unknown label {_short(value)!r}: a `label` column holds sentiments "
            f"({', '.join(self.names.sentiments)}) or topics (one of {', '.join(self.names.topics)})"
        )


def _csv_rows(text: str, name: str, names: LabelNames, delimiter: str) -> Iterator[_Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    column = _LabelColumn(names)
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
        reader.fieldnames = header
        _check_header(header, name)
        for row in reader:
            where = f"{name}: line {reader.line_num}"
            if None in row:
                raise LabelFileError(f"{where}: more fields than the header has")
            yield _Row(_parsed(column.apply(row, where), where, names), where)
    except csv.Error as exc:
        raise LabelFileError(f"{name}: line {reader.line_num}: not valid CSV ({exc})") from None


def _check_header(header: list[str], name: str) -> None:
    if not header:
        raise LabelFileError(f"{name}: empty file (expected a header with `text` and `sentiment` and/or `topic`)")
    if TEXT_COLUMN not in header or not {SENTIMENT, TOPIC, LABEL} & set(header):
        raise LabelFileError(
            f"{name}: line 1: the header needs a `text` column and a `sentiment` and/or `topic` column "
            f"(found: {_short(', '.join(header), 200)})"
        )


def _parsed(record: Mapping[str, Any], where: str, names: LabelNames) -> Label:
    try:
        return label_of(record, names)
    except ValueError as exc:
        raise LabelFileError(f"{where}: {exc}") from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise LabelFileError(f"{where}: not valid JSON ({reason})") from None


def _jsonl_rows(text: str, name: str, names: LabelNames) -> Iterator[_Row]:
    column = _LabelColumn(names)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        record = _json(line, where)
        if not isinstance(record, dict):
            raise LabelFileError(f"{where}: expected a JSON object with `text` and `sentiment` and/or `topic`")
        yield _Row(_parsed(column.apply(record, where), where, names), where)


# ---- Label Studio --------------------------------------------------------------------------------------


def _task_text(data: Any, where: str) -> Any:
    """The task's text: `data.text`, else the one string field of `data`."""
    if not isinstance(data, dict):
        raise LabelFileError(f"{where}: `data` must be an object")
    if TEXT_COLUMN in data:
        return data[TEXT_COLUMN]
    strings = [value for value in data.values() if isinstance(value, str)]
    if len(strings) != 1:
        raise LabelFileError(f"{where}: `data` has no `text` field")
    return strings[0]


def _head_of(from_name: Any) -> str | None:
    name = str(from_name or "").lower()
    return SENTIMENT if SENTIMENT in name else TOPIC if TOPIC in name else None


def _choices(result: Any, where: str) -> dict[str, Any]:
    """{head: the chosen name} from an annotation's result list (Choices controls named *sentiment*/*topic*)."""
    if not isinstance(result, list):
        raise LabelFileError(f"{where}: an annotation's `result` must be a list")
    chosen: dict[str, Any] = {}
    for item in result:
        if not isinstance(item, dict) or (head := _head_of(item.get("from_name"))) is None:
            continue
        picked = (item.get("value") or {}).get("choices") if isinstance(item.get("value"), dict) else None
        if not isinstance(picked, list) or len(picked) != 1:
            raise LabelFileError(f"{where}: {head} needs exactly one choice, got {_short(json.dumps(picked))}")
        chosen[head] = picked[0]
    return chosen


def _latest_annotation(task: dict[str, Any], where: str) -> dict[str, Any] | None:
    annotations = task.get("annotations") or task.get("completions") or []
    if not isinstance(annotations, list):
        raise LabelFileError(f"{where}: `annotations` must be a list")
    kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    return max(kept, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""), default=None)


def _studio_record(task: Any, where: str) -> dict[str, Any] | None:
    """A task as a flat record, None when nobody annotated it yet (exports of all tasks hold those)."""
    if not isinstance(task, dict):
        raise LabelFileError(f"{where}: expected a task object")
    if "data" not in task:  # the JSON-MIN export: flat records already
        return task
    annotation = _latest_annotation(task, where)
    if annotation is None:
        return None
    data = task["data"]
    record = {**_choices(annotation.get("result"), where), TEXT_COLUMN: _task_text(data, where)}
    record["news_id"] = data.get("news_id") if isinstance(data, dict) else None
    record["model_version"] = data.get("model_version") if isinstance(data, dict) else None
    record["labelled_at"] = annotation.get("updated_at") or annotation.get("created_at")
    annotator = annotation.get("completed_by")
    record["labeller"] = annotator.get("email") if isinstance(annotator, dict) else annotator
    return record


def _studio_rows(text: str, name: str, names: LabelNames) -> Iterator[_Row]:
    tasks = _json(text, name)
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise LabelFileError(f"{name}: expected a Label Studio export (a JSON list of tasks)")
    unannotated = 0
    for number, task in enumerate(tasks, start=1):
        where = f"{name}: task {number}" + (f" (id {task['id']})" if isinstance(task, dict) and "id" in task else "")
        record = _studio_record(task, where)
        if record is None:
            unannotated += 1
            continue
        yield _Row(_parsed(record, where, names), where)
    if unannotated:
        log.info("%s: %d task(s) not annotated yet, skipped", name, unannotated)


# ---- the whole import ----------------------------------------------------------------------------------

Parser = Callable[[str, str, LabelNames], Iterator[_Row]]
PARSERS: dict[str, Parser] = {
    "csv": lambda text, name, names: _csv_rows(text, name, names, _delimiter(text)),
    "tsv": lambda text, name, names: _csv_rows(text, name, names, "\t"),
    "jsonl": _jsonl_rows,
    "json": _studio_rows,
}


def _read(path: Path, remaining: int) -> bytes:
    """The file's bytes, bounded by the per-file limit and what is left of the import's total."""
    limit = min(MAX_FILE_BYTES, remaining)
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        which = f"{path}: larger than" if limit == MAX_FILE_BYTES else f"{path}: the files together are larger than"
        raise LabelFileError(f"{which} {limit // (1024 * 1024)} MB; split them into smaller files")
    return data


def _sizes_fit(paths: Sequence[Path]) -> None:
    """Fail before reading anything when the files' sizes (where the OS knows them) are over the limits."""
    total = 0
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise LabelFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if size > MAX_FILE_BYTES:
            megabytes = MAX_FILE_BYTES // (1024 * 1024)
            raise LabelFileError(f"{path}: larger than {megabytes} MB; split it into smaller files")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise LabelFileError(f"the files together are larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MB")


def _key(label: Label) -> str:
    """One label per news id; without one, per text (texts that differ only in case or spacing are the same
    text to a labeller)."""
    if label.news_id:
        return f"id:{label.news_id}"
    return "text:" + text_key(label.text)


def _merge(kept: _Row, row: _Row) -> _Row:
    """Two rows for one text or news id: complementary heads merge; different names for one head conflict."""
    same = f"news id {kept.label.news_id!r}" if kept.label.news_id else "text"
    merged = {}
    for head in (SENTIMENT, TOPIC):
        mine, theirs = getattr(kept.label, head), getattr(row.label, head)
        if mine is not None and theirs is not None and mine != theirs:
            raise LabelFileError(
                f"{row.where}: {head} {theirs!r} conflicts with {mine!r} for the same {same} at {kept.where}"
            )
        merged[head] = mine if mine is not None else theirs
    return _Row(replace(kept.label, **merged), kept.where)


def unique_labels(rows: Iterable[_Row]) -> list[Label]:
    """One label per news id or text (first seen order); MAX_LABELS at most."""
    seen: dict[str, _Row] = {}
    for number, row in enumerate(rows, start=1):
        if number > 2 * MAX_LABELS:
            raise LabelFileError(f"{row.where}: more than {2 * MAX_LABELS} rows in one import; split the files")
        key = _key(row.label)
        seen[key] = _merge(seen[key], row) if key in seen else row
        if len(seen) > MAX_LABELS:
            raise LabelFileError(f"{row.where}: more than {MAX_LABELS} labels in one import; split the files")
    return [row.label for row in seen.values()]


def read_label_files(paths: Sequence[Path], sentiments: Sequence[str], topics: Sequence[str]) -> list[Label]:
    """Every label of `paths` (CSV, TSV, JSONL, Label Studio JSON), checked against the model's label names;
    LabelFileError on the first bad row of any file, so callers store all of them or nothing."""
    if not paths:
        return []  # e.g. `finmon adapt --from-index` alone: the labels come from the index
    names = LabelNames(tuple(sentiments), tuple(topics))
    _sizes_fit(paths)

    def rows() -> Iterator[_Row]:
        remaining = MAX_TOTAL_BYTES
        for path in map(Path, paths):
            kind = _format_of(path)
            data = _read(path, remaining)
            remaining -= len(data)
            empty = True
            for row in PARSERS[kind](decode(data, str(path)), str(path), names):
                empty = False
                yield row
            if empty:
                raise LabelFileError(f"{path}: no labelled rows")

    return unique_labels(rows())


# ---- writing -------------------------------------------------------------------------------------------

CSV_COLUMNS = ("news_id", "text", "sentiment", "topic", "labelled_at", "labeller", "model_version")


def _atomic_write(path: Path, write: Callable[[TextIO], object]) -> Path:
    """Write to a temporary file beside `path`, then rename: a failed export leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return "" if value is None else str(value)


def write_labels_csv(labels: Iterable[Label], path: Path) -> Path:
    """The labels as CSV with a header (the columns `read_label_files` reads back)."""

    def write(out: TextIO) -> None:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for label in labels:
            writer.writerow([_cell(getattr(label, column)) for column in CSV_COLUMNS])

    return _atomic_write(path, write)


def _result(sentiment: str | None, topic: str | None) -> list[dict[str, Any]]:
    picked = [(SENTIMENT, sentiment), (TOPIC, topic)]
    return [
        {"from_name": head, "to_name": TEXT_COLUMN, "type": "choices", "value": {"choices": [name]}}
        for head, name in picked
        if name is not None
    ]


def studio_task(label: Label, prediction: Prediction | None) -> dict[str, Any]:
    """One Label Studio task: the text (with news id and scoring model), the person's label as an annotation,
    the model's labels as a prediction (pre-annotation)."""
    data = {TEXT_COLUMN: label.text, "news_id": label.news_id, "model_version": label.model_version}
    task: dict[str, Any] = {"data": {k: v for k, v in data.items() if v is not None}}
    if label.sentiment is not None or label.topic is not None:
        annotation: dict[str, Any] = {"result": _result(label.sentiment, label.topic), "was_cancelled": False}
        if label.labelled_at is not None:
            annotation["created_at"] = _cell(label.labelled_at)
        task["annotations"] = [annotation]
    if prediction is not None and (prediction.sentiment or prediction.topic):
        guess: dict[str, Any] = {"result": _result(prediction.sentiment, prediction.topic)}
        extra = {"score": prediction.score, "model_version": prediction.model_version}
        guess.update({key: value for key, value in extra.items() if value is not None})
        task["predictions"] = [guess]
    return task


def write_label_studio(
    labels: Iterable[Label], path: Path, predictions: Mapping[str, Prediction] | None = None
) -> Path:
    """Label Studio tasks (JSON import format). `predictions` maps a news id (or, for labels without one,
    the text) to the model's labels, sent as pre-annotations."""
    guesses = predictions or {}
    tasks = [studio_task(label, guesses.get(label.news_id or label.text)) for label in labels]
    return _atomic_write(path, lambda out: out.write(json.dumps(tasks, ensure_ascii=False, indent=1)))


def label_studio_config(sentiments: Sequence[str], topics: Sequence[str]) -> str:
    """The Label Studio labelling interface that matches these files: the text and two Choices controls."""

    def choices(name: str, values: Sequence[str]) -> str:
        items = "".join(f"\n    <Choice value={quoteattr(value)}/>" for value in values)
        return f'  <Choices name="{name}" toName="text" choice="single" showInline="true">{items}\n  </Choices>'

    parts = ["<View>", '  <Text name="text" value="$text"/>', choices(SENTIMENT, sentiments), choices(TOPIC, topics)]
    return "\n".join([*parts, "</View>", ""])
