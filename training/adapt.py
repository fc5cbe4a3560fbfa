"""`finmon adapt` as named steps: a finmon model continues on a team's own labels and keeps its behaviour elsewhere.

It starts from the chosen model's adapter and heads (not the bare base encoder). Each labelled text teaches the
heads it has a label for; every head a text has no label for, and every unlabelled news text (`builtin:news`,
news from the index), follows the frozen starting model's soft labels. That is how it keeps what the model knew
without its original training data. A seeded, stratified part of the labels is held out and both models are
scored on it (and on any `--valid-*` file) through the exported directory, as the worker loads it, for the card.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel

from monitor.labels.records import Label
from monitor.scoring.modeldir import SPEC_FILE, TASKS, ModelFormatError, ModelSpec, model_dir_for, resolve_base
from monitor.scoring.network import MultiTaskModel, load_heads, load_tokenizer
from monitor.scoring.textnorm import normalize
from training.adapt_report import adapt_card, compare_reports, valid_files
from training.args import AdaptArgs, TrainArgs
from training.batches import encode
from training.distill import read_unlabelled, teacher_logits
from training.export import ADAPTER_DIR, CONFIG_FILE, METRICS_FILE, export_model, write_json
from training.label_maps import LabelError, LabelMap
from training.labelled_files import IGNORE, Example, split_holdout
from training.trainable_model import PEFT_HINT, add_lora, trainable_parameters
from training.trainer import Encoded, LoopConfig, Trainer, seed_everything
from training.weights import class_counts, inverse_frequency_weights

log = logging.getLogger(__name__)
CARD_FILE = "README.md"
MIN_HOLDOUT_LABELS = 20  # fewer labels than this are all used for training (the card says so)


class AdaptError(ValueError):
    """Input `finmon adapt` cannot use: no labels, labels the model does not know, an output it must not touch."""


@dataclass
class LabelSets:
    """The labels as examples: what is learnt, what is held out for the card."""

    train: list[Example]
    held: list[Example]


def label_maps(spec: ModelSpec) -> dict[str, LabelMap]:
    """The starting model's label names (and aliases such as bullish/bearish); ids are not label names here."""
    return {task: LabelMap(task, spec.labels[task], {}) for task in TASKS}


def examples_from_labels(labels: Sequence[Label], maps: Mapping[str, LabelMap]) -> list[Example]:
    """One example per distinct normalised text (a later label of the same text replaces an earlier one)."""
    by_text: dict[str, Example] = {}
    for number, label in enumerate(labels, start=1):
        text = normalize(label.text or "")
        values = {"sentiment": label.sentiment, "topic": label.topic}
        if not text or not any(values.values()):
            continue
        try:
            ids = tuple(maps[task].index(values[task]) if values[task] else IGNORE for task in TASKS)
        except LabelError as exc:
            raise AdaptError(f"label {number} ({label.text[:60]!r}): {exc}") from None
        by_text.pop(text, None)
        by_text[text] = Example(text, ids)
    return list(by_text.values())


def holdout_share(holdout: float, n: int) -> float:
    """--holdout as a share of n labels: a share stays, a count becomes one; small label sets hold none out."""
    if n < MIN_HOLDOUT_LABELS:
        return 0.0
    share = holdout / n if holdout >= 1 else holdout
    if share >= 1:
        raise AdaptError(f"--holdout {holdout:g} leaves nothing to learn from {n} labels")
    return share


def split_labels(examples: list[Example], holdout: float, seed: int) -> LabelSets:
    if not examples:
        raise AdaptError("no usable labels: every label row has empty text or no sentiment/topic")
    train, held = split_holdout(examples, holdout_share(holdout, len(examples)), seed)
    if not train:
        raise AdaptError("no labels left to learn from after the held-out part")
    return LabelSets(train, held)


def distill_pool(args: AdaptArgs, extra_texts: Sequence[str], taken: set[str]) -> list[Example]:
    """Unlabelled texts for the soft labels, without the labelled and held-out texts."""
    pool = read_unlabelled(args.unlabelled, "text") if args.unlabelled else []
    seen = {ex.text for ex in pool} | taken
    for raw in extra_texts:
        text = normalize(raw)
        if text and text not in seen:
            seen.add(text)
            pool.append(Example(text, (IGNORE,) * len(TASKS)))
    return [ex for ex in pool if ex.text not in taken]


def epoch_rows(n_labelled: int, n_pool: int, per_label: float, seed: int) -> Callable[[int], list[int]]:
    """Rows of each epoch: every label, and a fresh seeded draw of unlabelled rows (they follow the labels)."""
    draw = min(n_pool, round(per_label * n_labelled))

    def rows(epoch: int) -> list[int]:
        picked = random.Random(seed * 7_919 + epoch).sample(range(n_pool), draw)
        return list(range(n_labelled)) + [n_labelled + i for i in picked]

    return rows


def trainable_model(start: Path, spec: ModelSpec) -> tuple[MultiTaskModel, Any]:
    """The starting model with its LoRA adapter trainable again (or a new adapter over a full encoder)."""
    encoder = AutoModel.from_pretrained(resolve_base(spec.base, start))
    if spec.adapter:
        try:
            from peft import PeftModel
        except ImportError:
            raise ImportError(f"finmon adapt needs peft: {PEFT_HINT}") from None
        encoder = PeftModel.from_pretrained(encoder, str(start / spec.adapter), is_trainable=True)
    else:
        encoder = add_lora(encoder, TrainArgs(lora_r=8, lora_alpha=16))
    model = MultiTaskModel(encoder, {task: len(spec.labels[task]) for task in TASKS}, spec.pooling)
    load_heads(model, start)
    return model, load_tokenizer(spec, start)


def class_weights(args: AdaptArgs, train: Sequence[Example], spec: ModelSpec) -> dict[str, torch.Tensor | None]:
    if args.class_weights == "none":
        return dict.fromkeys(TASKS)
    power = 0.5 if args.class_weights == "sqrt" else 1.0
    weights: dict[str, torch.Tensor | None] = {}
    for t, task in enumerate(TASKS):
        counts = class_counts((ex.labels[t] for ex in train if ex.labels[t] != IGNORE), len(spec.labels[task]))
        weights[task] = torch.tensor(inverse_frequency_weights(counts, power))
    return weights


def loop_config(args: AdaptArgs, rows_per_epoch: int) -> LoopConfig:
    steps = args.epochs * -(-rows_per_epoch // args.batch_size)
    return LoopConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        encoder_lr=args.lr,
        head_lr=args.head_lr,
        warmup_ratio=0.1,
        eval_steps=steps + 1,  # evaluated once, after the last step: the held-out part never selects weights
        patience=1,
        seed=args.seed,
        bf16=False,  # bf16 autocast made LoRA steps 1.5-2.4x slower than fp32 on these CPUs (backward emulated)
        distill_weight=args.soft_weight,
        temperature=args.temperature,
        soft_only_unlabelled=True,
    )


@dataclass
class Prepared:
    args: AdaptArgs
    start: Path
    spec: ModelSpec
    sets: LabelSets
    trainer: Trainer
    tokenizer: Any
    pool_size: int


def prepare(args: AdaptArgs, sets: LabelSets, extra_texts: Sequence[str], stage: Path) -> Prepared:
    """Unlabelled pool, the starting model twice (trainable, and frozen for the soft labels), the trainer."""
    seed_everything(args.seed)
    start = model_dir_for(args.model)
    spec = ModelSpec.load(start)
    pool = distill_pool(args, extra_texts, {ex.text for ex in sets.train + sets.held})
    model, tokenizer = trainable_model(start, spec)
    train = sets.train + pool
    names = {task: list(spec.labels[task]) for task in TASKS}
    texts = [ex.text for ex in train]
    soft = teacher_logits(str(start), texts, names, args.max_length, stage, torch.device("cpu"))
    rows = epoch_rows(len(sets.train), len(pool), args.unlabelled_per_label, args.seed)
    trainer = Trainer(
        model,
        loop_config(args, len(rows(0))),
        Encoded(train, encode(texts, tokenizer, args.max_length), soft),
        Encoded(sets.held, encode([ex.text for ex in sets.held], tokenizer, args.max_length) if sets.held else []),
        names,
        class_weights(args, sets.train, spec),
        tokenizer.pad_token_id or 0,
        stage / "checkpoint",
        torch.device("cpu"),
        rows,
    )
    log.info("%d labels to learn, %d held out, %d unlabelled texts", len(sets.train), len(sets.held), len(pool))
    return Prepared(args, start, spec, sets, trainer, tokenizer, len(pool))


def adapted_spec_fields(args: AdaptArgs, spec: ModelSpec, today: datetime) -> dict[str, Any]:
    version = args.version or f"{spec.version}+adapt.{today:%Y%m%d}"
    extra = {**spec.extra, "adapted_from": f"{spec.name} {spec.version}", "mode": "lora"}
    return {
        "name": args.name or spec.name,
        "version": version,
        "labels": {task: list(spec.labels[task]) for task in TASKS},
        "max_length": spec.max_length,
        "pooling": spec.pooling,
        "extra": extra,
    }


def export(prepared: Prepared, target: Path, today: datetime) -> ModelSpec:
    """The adapter and heads over the starting model's base; a local base (a full encoder) is copied along."""
    spec, start = prepared.spec, prepared.start
    fields = adapted_spec_fields(prepared.args, spec, today)
    model = prepared.trainer.model.cpu()
    exported = export_model(model, prepared.tokenizer, fields, target, "lora", spec.base)
    (target / ADAPTER_DIR / "README.md").unlink(missing_ok=True)  # PEFT's blank template card, not ours
    for weights in target.rglob("*.safetensors"):
        weights.chmod(0o644)  # written through a private temporary file (0600): a worker of another user reads them
    if not Path(spec.base).is_absolute() and (start / spec.base).is_dir():  # a full encoder inside the model
        shutil.copytree(start / spec.base, target / spec.base)
    if spec.tokenizer:
        shutil.copytree(start / spec.tokenizer, target / spec.tokenizer)
        exported = replace(exported, tokenizer=spec.tokenizer)
        exported.save(target)
    return exported


def check_output(output: Path, overwrite: bool) -> None:
    """Refuse to replace a non-empty directory that is not a finmon model (unless --overwrite)."""
    if output.exists() and not output.is_dir():
        raise AdaptError(f"{output} exists and is not a directory")
    if output.is_dir() and any(output.iterdir()) and not (output / SPEC_FILE).is_file() and not overwrite:
        raise AdaptError(f"{output} is a non-empty directory that is not a finmon model; use --overwrite")


def install(staged: Path, output: Path) -> None:
    """Put the finished model in place in one rename (the old directory goes only once the new one is whole)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        old = output.with_name(f".{output.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        output.rename(old)
        staged.rename(output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staged.rename(output)


def run(
    args: AdaptArgs,
    labels: Sequence[Label],
    extra_texts: Sequence[str] = (),
    on_step: Callable[[int, float], None] | None = None,
    today: datetime | None = None,
    command: str = "finmon adapt",
) -> dict[str, Any]:
    """Adapt, export, compare before/after, write the card; OUTPUT is written only when all of it worked."""
    args.validate()
    output = Path(str(args.output))
    check_output(output, args.overwrite)
    spec = require_model(args.model)
    sets = split_labels(examples_from_labels(labels, label_maps(spec)), args.holdout, args.seed)
    valid_files(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    today = today or datetime.now().astimezone()
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{output.name}.adapting-", dir=output.parent))
    try:
        began = time.monotonic()
        prepared = prepare(args, sets, extra_texts, stage / "work")
        timing = {"prepare_seconds": time.monotonic() - began}  # models loaded, soft labels of every text
        prepared.trainer.fit(on_step)
        timing["train_seconds"] = time.monotonic() - began - timing["prepare_seconds"]
        model_dir = stage / "model"
        spec = export(prepared, model_dir, today)
        metrics = finish(prepared, model_dir, spec, timing, command)
        install(model_dir, output)
        metrics["wall_seconds"] = round(time.monotonic() - began, 1)  # export and before/after included
        return metrics
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def finish(
    prepared: Prepared, model_dir: Path, spec: ModelSpec, timing: dict[str, float], command: str
) -> dict[str, Any]:
    args = prepared.args
    reports = compare_reports(prepared.start, model_dir, prepared.sets.held, args)
    metrics = {
        "adapted_from": f"{prepared.spec.name} {prepared.spec.version}",
        "labels": {"train": len(prepared.sets.train), "held_out": len(prepared.sets.held)},
        "label_counts": label_counts(prepared.sets.train, prepared.spec),
        "unlabelled_texts": prepared.pool_size,
        "prepare_seconds": round(timing["prepare_seconds"], 1),
        "train_seconds": round(timing["train_seconds"], 1),
        "steps": prepared.trainer.progress.global_step,
        "trainable_parameters": trainable_parameters(prepared.trainer.model),
        "reports": reports,
    }
    write_json(model_dir / CONFIG_FILE, {**asdict(args), "command": command, "kind": "adapt"})
    write_json(model_dir / METRICS_FILE, metrics)
    (model_dir / CARD_FILE).write_text(adapt_card(asdict(spec), asdict(args), metrics, command))
    return metrics


def label_counts(examples: Sequence[Example], spec: ModelSpec) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for t, task in enumerate(TASKS):
        found = class_counts((ex.labels[t] for ex in examples if ex.labels[t] != IGNORE), len(spec.labels[task]))
        if any(found):
            counts[task] = {name: n for name, n in zip(spec.labels[task], found, strict=True) if n}
    return counts


def require_model(name: str) -> ModelSpec:
    """The starting model's spec, or a clear error before anything is read or written."""
    try:
        return ModelSpec.load(model_dir_for(name))
    except ModelFormatError as exc:
        raise AdaptError(str(exc)) from None
