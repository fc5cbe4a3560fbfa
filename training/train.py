"""`finmon train` as named steps: read data, build the model, fit, export, evaluate, write the card."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import torch

from monitor.scoring.backends import load_scorer
from monitor.scoring.modeldir import TASKS, ModelSpec
from monitor.stage_settings import ModelSettings
from training.args import TrainArgs
from training.batches import encode
from training.calibrate import calibrate
from training.distill import read_unlabelled, teacher_logits
from training.evaluate import evaluate_file
from training.export import CONFIG_FILE, METRICS_FILE, export_model, write_json
from training.label_maps import DEFAULT_LABELS, LabelMap
from training.labelled_files import IGNORE, DataSource, Example, read_examples, split_holdout
from training.model_card import confusion_png, model_card
from training.trainable_model import build_model, trainable_parameters
from training.trainer import Encoded, LoopConfig, Trainer, all_logits, evaluate_holdout, seed_everything
from training.weights import class_counts, inverse_frequency_weights

log = logging.getLogger(__name__)
CARD_FILE = "README.md"


@dataclass
class Prepared:
    args: TrainArgs
    trainer: Trainer
    tokenizer: Any
    held: Encoded
    device: torch.device


def label_maps(args: TrainArgs) -> dict[str, LabelMap]:
    id_maps: dict[str, dict[str, str]] = {}
    for item in args.label_map:
        task, _, path = item.partition("=")
        if task not in TASKS or not path:
            raise ValueError(f"--label-map {item!r}: expected TASK=FILE.json with TASK one of {', '.join(TASKS)}")
        id_maps[task] = {str(k): str(v) for k, v in json.loads(Path(path).read_text()).items()}
    return {task: LabelMap(task, DEFAULT_LABELS[task], id_maps.get(task)) for task in TASKS}


def sources(args: TrainArgs) -> list[DataSource]:
    found = [DataSource(Path(p), {"sentiment": args.label_column}, args.text_column) for p in args.sentiment]
    found += [DataSource(Path(p), {"topic": args.label_column}, args.text_column) for p in args.topic]
    found += [DataSource(Path(p), {task: task for task in TASKS}, args.text_column) for p in args.multi]
    return found


def read_all(args: TrainArgs, maps: dict[str, LabelMap]) -> list[Example]:
    examples: list[Example] = []
    for source in sources(args):
        rows = read_examples(source, maps)
        log.info("%s: %d labelled texts", source.path, len(rows))
        examples.extend(rows)
    return examples


def task_weights(args: TrainArgs, train: list[Example], maps: dict[str, LabelMap]) -> dict[str, torch.Tensor | None]:
    if args.class_weights == "none":
        return dict.fromkeys(TASKS)
    power = 0.5 if args.class_weights == "sqrt" else 1.0
    weights: dict[str, torch.Tensor | None] = {}
    for t, task in enumerate(TASKS):
        counts = class_counts((ex.labels[t] for ex in train if ex.labels[t] != IGNORE), len(maps[task]))
        weights[task] = torch.tensor(inverse_frequency_weights(counts, power))
    return weights


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def prepare(args: TrainArgs) -> Prepared:
    """Everything up to the first step: data, split, model, tokens, weights, optimiser."""
    args.validate()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    maps = label_maps(args)
    train, held = split_holdout(read_all(args, maps), args.valid_fraction, args.seed)
    model, tokenizer = build_model(args, {task: len(maps[task]) for task in TASKS})
    log.info(
        "%d training / %d held-out texts; %d trainable parameters", len(train), len(held), trainable_parameters(model)
    )
    config = LoopConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        encoder_lr=args.encoder_lr,
        head_lr=args.head_lr,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        eval_steps=args.eval_steps,
        patience=args.patience,
        seed=args.seed,
        max_steps=args.max_steps,
        bf16=args.bf16,
        resume=args.resume,
        distill_weight=args.distill_weight,
        temperature=args.temperature,
    )
    device = pick_device(args.device)
    trainer = Trainer(
        model,
        config,
        training_set(args, train, tokenizer, {task: maps[task].names for task in TASKS}, device),
        Encoded(held, encode([ex.text for ex in held], tokenizer, args.max_length)),
        {task: maps[task].names for task in TASKS},
        task_weights(args, train, maps),
        tokenizer.pad_token_id or 0,
        Path(args.output) / "checkpoint",
        device,
    )
    return Prepared(args, trainer, tokenizer, Encoded(held, trainer.held.ids), device)


def training_set(
    args: TrainArgs, train: list[Example], tokenizer: Any, labels: dict[str, list[str]], device: torch.device
) -> Encoded:
    """The training examples with their token ids; with a teacher, the unlabelled texts and its logits too."""
    if not args.teacher:
        return Encoded(train, encode([ex.text for ex in train], tokenizer, args.max_length))
    unlabelled = read_unlabelled(args.unlabelled, args.text_column)
    log.info("%d unlabelled texts for distillation", len(unlabelled))
    train = train + unlabelled
    texts = [ex.text for ex in train]
    teacher = teacher_logits(args.teacher, texts, labels, args.max_length, Path(args.output), device)
    return Encoded(train, encode(texts, tokenizer, args.max_length), teacher)


def finish(prepared: Prepared, train_seconds: float, command: str) -> dict[str, Any]:
    """Export the best weights, evaluate the exported directory as the worker loads it, write metrics and card."""
    args, trainer = prepared.args, prepared.trainer
    output = Path(args.output)
    fields = {
        "name": args.name,
        "version": args.version,
        "labels": dict(trainer.labels),
        "max_length": args.window,
        "extra": {"trained_max_length": args.max_length, "mode": args.mode},
    }
    calibration = adjust_heads(prepared) if args.calibrate else {}
    spec = export_model(trainer.model.cpu(), prepared.tokenizer, fields, output, args.mode, args.base)
    write_json(output / CONFIG_FILE, {**asdict(args), "command": command})
    reports = final_reports(args, output, prepared)
    metrics = {
        "train_seconds": round(train_seconds, 1),
        "steps": trainer.progress.global_step,
        "best_step": trainer.progress.best_step,
        "trainable_parameters": trainable_parameters(trainer.model),
        "calibration": calibration,
        "history": trainer.progress.history,
        "reports": reports,
    }
    write_json(output / METRICS_FILE, metrics)
    write_card(output, spec, args, reports, {**metrics, "command": command})
    return metrics


def adjust_heads(prepared: Prepared) -> dict[str, dict[str, Any]]:
    """Fold the class-weight prior correction (training/calibrate.py) into each head that keeps it."""
    trainer = prepared.trainer
    logits = all_logits(trainer.model, prepared.held.ids, trainer.pad_id, prepared.device, False)
    found: dict[str, dict[str, Any]] = {}
    for t, task in enumerate(TASKS):
        weights = trainer.class_weights.get(task)
        rows = [i for i, ex in enumerate(prepared.held.examples) if ex.labels[t] != IGNORE]
        if weights is None or not rows:
            continue
        gold = torch.tensor([prepared.held.examples[i].labels[t] for i in rows])
        result = calibrate(logits[task][rows], gold, weights)
        if result.applied:
            with torch.no_grad():
                bias = cast(torch.nn.Linear, trainer.model.heads[task]).bias
                bias.add_(torch.tensor(result.offsets, dtype=bias.dtype, device=bias.device))
        log.info("%s: prior correction %s, held-out %s -> %s", task, result.applied, result.before, result.after)
        found[task] = asdict(result)
    return found


def final_reports(args: TrainArgs, output: Path, prepared: Prepared) -> dict[str, dict[str, Any]]:
    """Held-out reports, plus the --eval-* files scored through the exported model (round trip included)."""
    trainer = prepared.trainer
    held = evaluate_holdout(trainer.model, prepared.held, trainer.labels, trainer.pad_id, torch.device("cpu"), False)
    reports = {f"{task} (held-out)": report for task, report in held.items()}
    evals = [(task, path, args.label_column, task) for task, path in _single_evals(args) if path]
    evals += [(f"{task} ({Path(path).stem})", path, task, task) for path in args.eval_multi for task in TASKS]
    if evals:
        scorer = load_scorer(ModelSettings(path=str(output), device="cpu"))
        labels = {k: list(v) for k, v in trainer.labels.items()}
        for name, path, column, task in evals:
            reports[name] = evaluate_file(scorer, labels, Path(path), task, args.text_column, column)
    return reports


def _single_evals(args: TrainArgs) -> list[tuple[str, str | None]]:
    return [("sentiment", args.eval_sentiment), ("topic", args.eval_topic)]


def confusion_file(report_name: str) -> str:
    """`sentiment` → confusion_sentiment.png, `topic (held-out)` → confusion_topic_heldout.png."""
    task, _, where = report_name.partition(" (")
    where = re.sub(r"[^a-z0-9]+", "_", where.rstrip(")").lower().replace("held-out", "heldout")).strip("_")
    return f"confusion_{task}{'_' + where if where else ''}.png"


def write_card(output: Path, spec: ModelSpec, args: TrainArgs, reports: dict[str, Any], facts: dict[str, Any]) -> None:
    images: dict[str, str] = {}
    for name, report in reports.items():
        file = confusion_file(name)
        confusion_png(report["confusion_matrix"], report["labels"], name, output / file)
        images[name] = file
    (output / CARD_FILE).write_text(model_card(asdict(spec), asdict(args), reports, images, facts))


def train(prepared: Prepared, command: str, on_step: Any = None) -> dict[str, Any]:
    """Fit the prepared trainer (`on_step(step, loss)` after each step), then export and report."""
    progress = prepared.trainer.fit(on_step)
    return finish(prepared, progress.train_seconds, command)
