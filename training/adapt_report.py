"""Two models on the same labelled data: the adapt card's before/after and `finmon eval --compare`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.contracts import BatchScorer
from monitor.scoring.modeldir import TASKS
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from training.classification_report import classification_report
from training.evaluate import evaluate_file, predicted_label
from training.label_maps import LabelMap
from training.labelled_files import IGNORE, DataError, Example, read_rows

Pair = tuple[dict[str, Any], dict[str, Any]]  # (before / A, after / B)


def scorer_for(model_dir: Path | str) -> Scorer:
    return Scorer.from_settings(ModelSettings(path=str(model_dir), device="cpu"))


def report_examples(scorer: BatchScorer, examples: Sequence[Example], labels: Mapping[str, Sequence[str]]) -> dict:
    """Per-head report on the examples that carry that head's label (texts scored as the worker would)."""
    predictions = scorer.score([ex.text for ex in examples]) if examples else []
    reports: dict[str, dict[str, Any]] = {}
    for t, task in enumerate(TASKS):
        rows = [i for i, ex in enumerate(examples) if ex.labels[t] != IGNORE]
        if rows:
            names = list(labels[task])
            gold = [examples[i].labels[t] for i in rows]
            pred = [names.index(predicted_label(predictions[i], task)) for i in rows]
            reports[task] = classification_report(gold, pred, names)
    return reports


def file_tasks(path: Path, task: str | None, label_column: str = "label") -> list[tuple[str, str]]:
    """(task, label column) pairs a file is evaluated on: its `sentiment`/`topic` columns, or the label column
    for --task (or for the task its label names belong to)."""
    header = next(iter(read_rows(path)), (0, {}))[1]
    if task:
        column = label_column if label_column in header else task
        if column not in header:
            raise DataError(f"{path}: no {label_column!r} or {task!r} column (found: {', '.join(sorted(header))})")
        return [(task, column)]
    found = [(name, name) for name in TASKS if name in header]
    if not found and label_column in header:
        return [(infer_task(path, label_column), label_column)]
    if not found:
        raise DataError(f"{path}: no sentiment, topic or {label_column!r} column (found: {', '.join(sorted(header))})")
    return found


def infer_task(path: Path, column: str) -> str:
    """A label column of label names tells its task; ids (0, 1, 2) could be either: then --task is needed."""
    values = {(row.get(column) or "").strip() for _, row in read_rows(path)} - {""}
    for task in ("sentiment", "topic"):
        names = LabelMap(task, _default_names(task), {})
        if values and all(_known(names, v) for v in values):
            return task
    raise DataError(f"{path}: the {column!r} column holds ids or mixed values; give --task sentiment|topic")


def _default_names(task: str) -> list[str]:
    from training.label_maps import DEFAULT_LABELS

    return DEFAULT_LABELS[task]


def _known(names: LabelMap, value: str) -> bool:
    try:
        names.index(value)
    except ValueError:
        return False
    return True


def compare_files(
    a: BatchScorer, b: BatchScorer, labels: Mapping[str, list[str]], paths: Sequence[tuple[Path, str, str]]
) -> dict[str, Pair]:
    """Both models on each (file, task, label column)."""
    out: dict[str, Pair] = {}
    for path, task, column in paths:
        name = f"{task} ({path.stem})"
        out[name] = (
            evaluate_file(a, dict(labels), path, task, "text", column),
            evaluate_file(b, dict(labels), path, task, "text", column),
        )
    return out


def compare_models(
    first: str, second: str, data: Path, task: str | None, label_column: str
) -> tuple[Scorer, Scorer, dict[str, Pair]]:
    """`finmon eval --compare`: both models (which must share their label names) on the file's tasks."""
    tasks = file_tasks(data, task, label_column)
    a, b = scorer_for(first), scorer_for(second)
    labels = {head: list(a.spec.labels[head]) for head in a.spec.labels}
    if labels != {head: list(b.spec.labels[head]) for head in b.spec.labels}:
        raise ValueError(f"{first} and {second} have different label sets: nothing to compare")
    return a, b, compare_files(a, b, labels, [(data, head, column) for head, column in tasks])


def valid_files(args: Any) -> list[tuple[Path, str, str]]:
    """(file, task, label column) of each --valid-* file; a missing file or column fails here, before training."""
    files = [(Path(p), "sentiment") for p in args.valid_sentiment] + [(Path(p), "topic") for p in args.valid_topic]
    found = [(path, task, column) for path, known in files for task, column in file_tasks(path, known)]
    return found + [(Path(p), task, column) for p in args.valid_multi for task, column in file_tasks(Path(p), None)]


def compare_reports(start: Path, adapted: Path, held: Sequence[Example], args: Any) -> dict[str, dict[str, Any]]:
    """The starting and the adapted model on the held-out labels and on each --valid-* file."""
    before, after = scorer_for(start), scorer_for(adapted)
    labels = {task: list(before.spec.labels[task]) for task in TASKS}
    pairs: dict[str, Pair] = {}
    old, new = report_examples(before, held, labels), report_examples(after, held, labels)
    for task in old:
        pairs[f"{task} (held-out labels)"] = (old[task], new[task])
    pairs.update(compare_files(before, after, labels, valid_files(args)))
    return {name: {"before": pair[0], "after": pair[1]} for name, pair in pairs.items()}


def _cell(name: str) -> str:
    return name.replace("|", "\\|")


def adapt_card(spec: Mapping[str, Any], args: Mapping[str, Any], metrics: Mapping[str, Any], command: str) -> str:
    """Markdown: what the model is, what it learnt from, and before/after on each evaluation."""
    counts = "; ".join(
        f"{task}: " + ", ".join(f"{k} {v}" for k, v in found.items()) for task, found in metrics["label_counts"].items()
    )
    lines = [
        f"# {spec['name']} {spec['version']}",
        "",
        f"Adapted by `finmon adapt` from **{metrics['adapted_from']}** (its LoRA adapter and heads continued; "
        f"base `{spec['base']}`).",
        "",
        f"- labels learnt: {metrics['labels']['train']} ({counts}); held out for this card: "
        f"{metrics['labels']['held_out']} (seed {args['seed']}, stratified)",
        f"- kept behaviour: the starting model's soft labels (temperature {args['temperature']}, weight "
        f"{args['soft_weight']}) on every head a text has no label for and on "
        f"{metrics['unlabelled_texts']} unlabelled texts ({', '.join(args['unlabelled']) or 'none'}"
        f"{', news from the index' if args.get('from_index') else ''}), {args['unlabelled_per_label']:g} per label "
        "and pass",
        f"- {args['epochs']} passes, batch {args['batch_size']}, {metrics['steps']} steps, lr {args['lr']:g} "
        f"(heads {args['head_lr']:g}); training time {metrics['train_seconds']} s",
        f"- reproduce: `{command}`",
        "",
        "| evaluation | n | before: accuracy / macro-F1 | after: accuracy / macro-F1 | macro-F1 change |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, pair in metrics["reports"].items():
        old, new = pair["before"], pair["after"]
        lines.append(
            f"| {name} | {new['n']} | {old['accuracy']:.3f} / {old['macro_f1']:.3f} | "
            f"{new['accuracy']:.3f} / {new['macro_f1']:.3f} | {new['macro_f1'] - old['macro_f1']:+.3f} |"
        )
    for name, pair in metrics["reports"].items():
        lines += ["", f"## {name}", "", *per_class_lines(pair["before"], pair["after"], "before", "after")]
    if not metrics["labels"]["held_out"]:
        lines += ["", f"Fewer than {20} labels (or --holdout 0): nothing was held out, so no before/after on labels."]
    return "\n".join(lines) + "\n"


def per_class_lines(a: Mapping[str, Any], b: Mapping[str, Any], name_a: str, name_b: str) -> list[str]:
    """A markdown table: precision / recall / F1 of each class for both models, and the F1 change."""
    lines = [
        f"| class | support | {name_a} P / R / F1 | {name_b} P / R / F1 | F1 change |",
        "|---|---:|---:|---:|---:|",
    ]
    for cls, row in a["per_class"].items():
        other = b["per_class"][cls]
        if not row["support"] and not other["support"] and not (row["f1"] or other["f1"]):
            continue
        lines.append(
            f"| {_cell(cls)} | {int(row['support'])} | {_prf(row)} | {_prf(other)} | {other['f1'] - row['f1']:+.3f} |"
        )
    lines.append(
        f"| **accuracy / macro-F1** | {a['n']} | {a['accuracy']:.3f} / {a['macro_f1']:.3f} | "
        f"{b['accuracy']:.3f} / {b['macro_f1']:.3f} | {b['macro_f1'] - a['macro_f1']:+.3f} |"
    )
    return lines


def _prf(row: Mapping[str, float]) -> str:
    return f"{row['precision']:.3f} / {row['recall']:.3f} / {row['f1']:.3f}"


def compare_text(pairs: Mapping[str, Pair], name_a: str, name_b: str) -> str:
    """`finmon eval --compare`: per evaluation, both models' per-class figures side by side with the change."""
    width = max([len(c) for pair in pairs.values() for c in pair[0]["per_class"]] + [12])
    out: list[str] = [f"A = {name_a}", f"B = {name_b}"]
    for name, (a, b) in pairs.items():
        out += ["", f"{name}: n={a['n']}", _row("class", width, "A P", "A R", "A F1", "B P", "B R", "B F1", "ΔF1")]
        for cls, row in a["per_class"].items():
            other = b["per_class"][cls]
            if row["support"] or other["support"] or row["f1"] or other["f1"] or _predicted(a, b, cls):
                values = [row["precision"], row["recall"], row["f1"], other["precision"], other["recall"]]
                cells = [f"{v:.3f}" for v in [*values, other["f1"]]] + [f"{other['f1'] - row['f1']:+.3f}"]
                out.append(_row(cls, width, *cells))
        out.append(
            _row(
                "accuracy",
                width,
                "",
                "",
                f"{a['accuracy']:.3f}",
                "",
                "",
                f"{b['accuracy']:.3f}",
                f"{b['accuracy'] - a['accuracy']:+.3f}",
            )
        )
        out.append(
            _row(
                "macro-F1",
                width,
                "",
                "",
                f"{a['macro_f1']:.3f}",
                "",
                "",
                f"{b['macro_f1']:.3f}",
                f"{b['macro_f1'] - a['macro_f1']:+.3f}",
            )
        )
    return "\n".join(out)


def _predicted(a: Mapping[str, Any], b: Mapping[str, Any], cls: str) -> bool:
    i = a["labels"].index(cls)
    return any(row[i] for row in a["confusion_matrix"]) or any(row[i] for row in b["confusion_matrix"])


def _row(name: str, width: int, *cells: str) -> str:
    return f"{name:<{width}}  " + " ".join(f"{c:>7}" for c in cells)
