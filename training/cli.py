"""`finmon train`, `finmon eval` and `finmon bench scorer`: argument parsing and progress bars only."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import typing
from pathlib import Path
from typing import Any

from training.args import AdaptArgs, TrainArgs


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per dataclass field, typed from the annotation, with the field's help text."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        kind, options = hints[spec.name], {"help": spec.metadata.get("help", ""), "default": spec.default}
        args = typing.get_args(kind)
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            options.update(nargs="+", type=str)
        elif typing.get_origin(kind) is typing.Literal:
            options["choices"] = list(args)
        else:
            base = next((a for a in args if a is not type(None)), kind) if args else kind
            options["type"] = base
        options["help"] = f"{options['help']} (default: {spec.default!r})"
        parser.add_argument(_flag(spec.name), **options)


def args_from_namespace(cls: type, namespace: argparse.Namespace) -> Any:
    values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def cmd_train(namespace: argparse.Namespace, settings: Any) -> int:
    from tqdm import tqdm

    from training.pipeline import prepare, train

    args: TrainArgs = args_from_namespace(TrainArgs, namespace)
    command = "finmon train " + shlex.join(sys.argv[2:]) if len(sys.argv) > 2 else "finmon train"
    try:
        prepared = prepare(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"finmon train: {exc}", file=sys.stderr)
        return 2
    trainer = prepared.trainer
    with tqdm(
        total=trainer.total_steps,
        desc=f"train {args.mode}",
        unit="step",
        mininterval=5,
    ) as bar:

        def on_step(step: int, loss: float) -> None:
            bar.update(step - bar.n)  # a resumed run starts at its checkpoint's step
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

        metrics = train(prepared, command, on_step)
    print(
        json.dumps(
            {
                name: {"accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4)}
                for name, r in metrics["reports"].items()
            },
            indent=2,
        )
    )
    return 0


def cmd_eval(namespace: argparse.Namespace, settings: Any) -> int:
    if namespace.compare:
        return cmd_compare(namespace, settings)
    if not namespace.task:
        print("finmon eval: --task sentiment|topic is required (unless --compare)", file=sys.stderr)
        return 2
    from monitor.scoring.modeldir import ModelFormatError
    from monitor.scoring.scorer import Scorer
    from training.data import DataError
    from training.evaluate import evaluate_file

    model_settings = settings.model.model_copy(update={"path": str(namespace.model) if namespace.model else None})
    try:
        scorer = Scorer.from_settings(model_settings)
        report = evaluate_file(
            scorer, scorer.spec.labels, namespace.data, namespace.task, namespace.text_column, namespace.label_column
        )
    except (DataError, ModelFormatError, ValueError) as exc:
        print(f"finmon eval: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            report if namespace.matrix else {k: v for k, v in report.items() if k != "confusion_matrix"}, indent=2
        )
    )
    return 0


def cmd_compare(namespace: argparse.Namespace, settings: Any) -> int:
    """`finmon eval --compare A B --data FILE`: both models, per-class figures side by side."""
    from monitor.labels.files import LabelFileError
    from monitor.scoring.modeldir import ModelFormatError
    from training.adapt_report import compare_files, compare_text, file_tasks, scorer_for
    from training.data import DataError

    first, second = namespace.compare
    try:
        tasks = file_tasks(namespace.data, namespace.task, namespace.label_column)
        a, b = scorer_for(first), scorer_for(second)
        labels = {task: list(a.spec.labels[task]) for task in a.spec.labels}
        if labels != {task: list(b.spec.labels[task]) for task in b.spec.labels}:
            raise ValueError(f"{first} and {second} have different label sets: nothing to compare")
        pairs = compare_files(a, b, labels, [(namespace.data, task, column) for task, column in tasks])
    except (DataError, LabelFileError, ModelFormatError, ValueError) as exc:
        print(f"finmon eval: {exc}", file=sys.stderr)
        return 2
    if namespace.json:
        strip = "confusion_matrix" if not namespace.matrix else ""
        print(json.dumps({k: [{x: y for x, y in r.items() if x != strip} for r in v] for k, v in pairs.items()}))
        return 0
    print(compare_text(pairs, f"{a.name} {a.version} ({a.model_hash})", f"{b.name} {b.version} ({b.model_hash})"))
    return 0


def cmd_adapt(namespace: argparse.Namespace, settings: Any) -> int:
    from tqdm import tqdm

    from training.adapt import run

    args: AdaptArgs = args_from_namespace(AdaptArgs, namespace)
    command = "finmon adapt " + shlex.join(sys.argv[2:]) if len(sys.argv) > 2 else "finmon adapt"
    try:
        labels, texts = adapt_inputs(args, settings)
        with tqdm(desc="adapt", unit="step", mininterval=5) as bar:

            def on_step(step: int, loss: float) -> None:
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

            metrics = run(args, labels, texts, on_step, command=command)
    except (ValueError, FileNotFoundError, ImportError) as exc:  # AdaptError, LabelFileError, DataError are these
        print(f"finmon adapt: {exc}", file=sys.stderr)
        return 2
    summary = {
        name: {
            when: {"accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4)} for when, r in p.items()
        }
        for name, p in metrics["reports"].items()
    }
    print(json.dumps({"output": args.output, "train_seconds": metrics["train_seconds"], "reports": summary}, indent=2))
    return 0


def cmd_split(namespace: argparse.Namespace, settings: Any) -> int:
    """`finmon split FILE --test N --seed S --out DIR`: DIR/train.csv and DIR/test.csv, fixed and stratified."""
    from monitor.labels.files import read_label_files
    from monitor.scoring.modeldir import ModelSpec, model_dir_for
    from training.splits import split_id_files, split_label_set, write_split

    try:
        spec = ModelSpec.load(model_dir_for(namespace.model))
        if namespace.label_ids:
            sets = split_id_files(namespace.files, namespace.label_ids, spec, namespace.test, namespace.seed)
        else:
            labels = read_label_files(namespace.files, spec.labels["sentiment"], spec.labels["topic"])
            sets = split_label_set(labels, spec, namespace.test, namespace.seed)
    except (ValueError, OSError) as exc:
        print(f"finmon split: {exc}", file=sys.stderr)
        return 2
    namespace.out.mkdir(parents=True, exist_ok=True)
    write_split(sets.train, spec, namespace.out / "train.csv")
    write_split(sets.held, spec, namespace.out / "test.csv")
    print(json.dumps({"train": len(sets.train), "test": len(sets.held), "out": str(namespace.out)}))
    return 0


def cmd_interpolate(namespace: argparse.Namespace, settings: Any) -> int:
    """`finmon interpolate START ADAPTED --alpha A --output DIR`: the model A of the way from START to ADAPTED."""
    from monitor.scoring.modeldir import ModelFormatError, model_dir_for
    from training.export import CONFIG_FILE, write_json
    from training.interpolate import interpolate

    try:
        if namespace.output.exists():
            raise ValueError(f"{namespace.output} exists; give a new directory")
        start, adapted = model_dir_for(namespace.start), model_dir_for(namespace.adapted)
        spec = interpolate(start, adapted, namespace.alpha, namespace.output, namespace.version)
    except (ValueError, OSError, ModelFormatError) as exc:
        print(f"finmon interpolate: {exc}", file=sys.stderr)
        return 2
    command = "finmon interpolate " + shlex.join(sys.argv[2:]) if len(sys.argv) > 2 else "finmon interpolate"
    config = {"start": namespace.start, "adapted": namespace.adapted, "alpha": namespace.alpha}
    write_json(namespace.output / CONFIG_FILE, {**config, "command": command, "kind": "interpolate"})
    print(json.dumps({"output": str(namespace.output), "name": spec.name, "version": spec.version}))
    return 0


def _figures(report: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": round(report["accuracy"], 4), "macro_f1": round(report["macro_f1"], 4)}


def adapt_inputs(args: AdaptArgs, settings: Any) -> tuple[list[Any], list[str]]:
    """The labels (files, then the labels index) and, with --from-index, recent news texts from the index."""
    from monitor.labels.files import read_label_files
    from training.adapt import AdaptError, require_model

    args.validate()
    spec = require_model(args.model)
    labels = list(read_label_files([Path(p) for p in args.labels], spec.labels["sentiment"], spec.labels["topic"]))
    texts: list[str] = []
    if args.from_index:
        from elasticsearch import ApiError, TransportError

        from monitor.labels.labels_index import read_labels
        from monitor.store.es import make_client
        from training.index_texts import recent_news_texts

        try:
            es = make_client(settings.es)
            labels += read_labels(es, settings.es.labels_index)
            texts = recent_news_texts(es, settings.es.news_index, args.index_texts)
        except (ApiError, TransportError) as exc:
            raise AdaptError(f"Elasticsearch at {', '.join(settings.es.urls)}: {exc}") from None
    if not labels:
        raise AdaptError("no labels found in " + (", ".join(args.labels) or "the labels index"))
    return labels, texts


def cmd_bench_scorer(namespace: argparse.Namespace, settings: Any) -> int:
    from training.bench import bench_scorer

    backend = namespace.backend or settings.model.backend
    if backend not in ("torch", "onnx"):
        print(f"finmon bench scorer: backend {backend!r} has no model to measure; use torch or onnx", file=sys.stderr)
        return 2
    precision = namespace.precision or settings.model.onnx_precision
    result = bench_scorer(settings, namespace.texts, namespace.model, backend, namespace.limit, precision)
    print(json.dumps(result, indent=2))
    return 0


def register(commands: Any) -> None:
    """Add `train` and `eval` to finmon's sub-commands."""
    train = commands.add_parser("train", help="fine-tune the multi-task model (full or LoRA) into a model directory")
    add_dataclass_arguments(train, TrainArgs)
    train.set_defaults(func=cmd_train)

    ev = commands.add_parser("eval", help="accuracy, macro-F1 and per-class figures of a model on a labelled file")
    ev.add_argument("--model", type=Path, help="model directory (default: the configured or shipped model)")
    ev.add_argument("--data", type=Path, required=True, help="CSV/JSONL with text and label columns")
    ev.add_argument(
        "--task",
        choices=["sentiment", "topic"],
        help="which head to evaluate (required, except with --compare on sentiment/topic columns or label names)",
    )
    ev.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="two models (default, accurate or directories): per-class figures side by side and the change",
    )
    ev.add_argument("--json", action="store_true", help="with --compare: the two reports as JSON")
    ev.add_argument("--text-column", default="text", help="column with the text (default: text)")
    ev.add_argument("--label-column", default="label", help="column with the label name or id (default: label)")
    ev.add_argument("--matrix", action="store_true", help="include the confusion matrix in the JSON")
    ev.set_defaults(func=cmd_eval)

    adapt = commands.add_parser(
        "adapt", help="continue a finmon model on your own labels (CPU, minutes), keeping its behaviour elsewhere"
    )
    add_dataclass_arguments(adapt, AdaptArgs)
    adapt.set_defaults(func=cmd_adapt)

    mix = commands.add_parser(
        "interpolate",
        help="a model on the straight line between a model and its adapted copy (WiSE-FT): less forgetting",
    )
    mix.add_argument("start", help="the starting model (default, accurate or a LoRA model directory)")
    mix.add_argument("adapted", help="the model adapted from it (finmon adapt's output)")
    mix.add_argument("--alpha", type=float, required=True, help="0 = START, 1 = ADAPTED (e.g. 0.8)")
    mix.add_argument("--output", type=Path, required=True, help="new model directory")
    mix.add_argument("--version", help="model version (default: ADAPTED's + '+wise<alpha>')")
    mix.set_defaults(func=cmd_interpolate)

    split = commands.add_parser("split", help="a fixed, seeded, stratified train/test split of label files")
    split.add_argument("files", type=Path, nargs="+", help="label files (CSV/JSONL/Label Studio JSON)")
    split.add_argument("--test", type=float, required=True, help="held-out share (e.g. 0.3) or count (e.g. 136)")
    split.add_argument("--seed", type=int, default=13, help="seed of the split (default: 13, adapt's default)")
    split.add_argument("--out", type=Path, required=True, help="directory for train.csv and test.csv")
    split.add_argument("--model", default="default", help="model whose label names the files use (default)")
    split.add_argument(
        "--label-ids",
        choices=("sentiment", "topic"),
        help="read the files' `label` column as this head's data-set ids, as finmon train does (shared/data: "
        "tfns 0 Bearish, 1 Bullish, 2 Neutral; tfnt 0..19) and write label names, e.g. to sample labels for adapt",
    )
    split.set_defaults(func=cmd_split)


def cmd_bench_adapt(namespace: argparse.Namespace, settings: Any) -> int:
    """`finmon bench adapt`: time `finmon adapt` on the first N labels of a file, with its default options."""
    from monitor.labels.files import read_label_files
    from training.adapt import require_model
    from training.bench import bench_adapt

    try:
        spec = require_model(namespace.model)
        labels = read_label_files(namespace.labels, spec.labels["sentiment"], spec.labels["topic"])
    except ValueError as exc:
        print(f"finmon bench adapt: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(bench_adapt(labels, namespace.limit, namespace.model, namespace.threads), indent=2))
    return 0


def register_bench(benches: Any) -> None:
    """Add `scorer` and `adapt` to the `finmon bench` group."""
    adapt = benches.add_parser("adapt", help="wall time of finmon adapt on N labels, by phase, on this machine")
    adapt.add_argument("--labels", type=Path, nargs="+", required=True, help="label files (as finmon adapt reads)")
    adapt.add_argument("--limit", type=int, default=500, help="use the first N labels (default: 500)")
    adapt.add_argument("--model", default="default", help="starting model (default: default)")
    adapt.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    adapt.set_defaults(func=cmd_bench_adapt)
    bench = benches.add_parser("scorer", help="docs/s of the finmon scorer vs a naive fp32 baseline, label agreement")
    bench.add_argument("--texts", type=Path, help="CSV/JSONL with a text column (default: shared sentiment valid)")
    bench.add_argument("--model", type=Path, help="model directory (default: the configured or shipped model)")
    bench.add_argument(
        "--backend", choices=["onnx", "torch"], help="finmon scorer backend (default: FINMON_MODEL__BACKEND, torch)"
    )
    bench.add_argument(
        "--precision", choices=["int8", "fp32"], help="ONNX precision (default: FINMON_MODEL__ONNX_PRECISION, int8)"
    )
    bench.add_argument("--limit", type=int, default=0, help="use only the first N texts (0 = all)")
    bench.set_defaults(func=cmd_bench_scorer)
