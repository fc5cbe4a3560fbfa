"""Training arguments: one typed dataclass, each field with its help text (the CLI is built from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.scoring.modeldir import DEFAULT_BASE


def _arg(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainArgs:
    output: str = _arg("runs/model", "output model directory (checkpoints go to OUTPUT/checkpoint)")
    base: str = _arg(
        DEFAULT_BASE, "pre-trained encoder: package:<module>, parts:all-mpnet-base-v2, a hub name or a local directory"
    )
    mode: Literal["lora", "full"] = _arg("lora", "lora: train LoRA adapters + heads; full: train every weight")
    sentiment: tuple[str, ...] = _arg((), "sentiment training file(s), CSV or JSONL")
    topic: tuple[str, ...] = _arg((), "topic training file(s), CSV or JSONL")
    multi: tuple[str, ...] = _arg((), "file(s) with a column per task named 'sentiment' / 'topic' (blank = no label)")
    text_column: str = _arg("text", "column holding the text")
    label_column: str = _arg("label", "column holding the label in --sentiment/--topic files")
    label_map: tuple[str, ...] = _arg((), "TASK=FILE.json: map label ids to names, e.g. sentiment=ids.json")
    teacher: str | None = _arg(
        None, "distil from this finmon model (directory or shipped name, e.g. accurate): soft labels on every text"
    )
    unlabelled: tuple[str, ...] = _arg(
        (), "unlabelled texts for distillation: .txt (a text a line), CSV/JSONL, or builtin:news"
    )
    distill_weight: float = _arg(0.5, "share of the distillation loss (the rest is the hard-label loss)")
    temperature: float = _arg(2.0, "softmax temperature of the distillation loss")
    eval_sentiment: str | None = _arg(None, "sentiment file evaluated once at the end for the card (not for selection)")
    eval_topic: str | None = _arg(None, "topic file evaluated once at the end for the card (not for selection)")
    eval_multi: tuple[str, ...] = _arg(
        (), "file(s) with 'sentiment' and 'topic' columns evaluated at the end for the card, e.g. a news set"
    )
    valid_fraction: float = _arg(0.1, "share of the training rows held out (stratified) for early stopping")
    epochs: int = _arg(3, "most passes over the training data")
    max_steps: int = _arg(0, "stop after this many optimiser steps (0 = no limit)")
    batch_size: int = _arg(32, "examples per optimiser step (both tasks mixed)")
    lr: float | None = _arg(None, "encoder learning rate (default: 1e-3 for lora, 1e-4 for full)")
    head_lr: float = _arg(2e-3, "learning rate of the classification heads")
    weight_decay: float = _arg(0.01, "AdamW weight decay (not on biases and LayerNorm)")
    warmup_ratio: float = _arg(0.06, "share of the steps with a linear warm-up; linear decay to 0 after")
    max_length: int = _arg(64, "tokens per training text (tweets are short once links are stripped)")
    window: int = _arg(128, "tokens per scoring window recorded in the model (long texts get several)")
    class_weights: Literal["sqrt", "inverse", "none"] = _arg("sqrt", "class weighting of the loss for each task")
    calibrate: bool = _arg(
        True, "add -log(class weight) to each head's logits at export when held-out macro-F1 does not fall"
    )
    dropout: float = _arg(0.1, "dropout before the heads")
    lora_r: int = _arg(16, "LoRA rank")
    lora_alpha: int = _arg(32, "LoRA alpha (scale alpha/r)")
    lora_dropout: float = _arg(0.1, "dropout on the LoRA input")
    lora_targets: str = _arg(
        "query,key,value,intermediate.dense,output.dense",
        "comma-separated module names (or dotted suffixes) that get LoRA; the pooler is unused by mean pooling",
    )
    eval_steps: int = _arg(0, "evaluate, checkpoint and maybe stop every this many steps (0 = each epoch)")
    patience: int = _arg(2, "stop after this many evaluations without a better held-out macro-F1")
    seed: int = _arg(13, "seed of the split, the batch order, dropout and initialisation")
    bf16: bool = _arg(True, "bf16 autocast where the device supports it")
    device: Literal["auto", "cpu", "cuda"] = _arg("auto", "where to train")
    threads: int | None = _arg(None, "torch CPU threads (default: torch's choice)")
    resume: bool = _arg(False, "continue from OUTPUT/checkpoint/last.pt if there is one (else start at step 0)")
    name: str = _arg("finmon-minilm", "model name recorded in finmon_model.json")
    version: str = _arg("1", "model version recorded in finmon_model.json")

    @property
    def encoder_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1e-3 if self.mode == "lora" else 1e-4

    def validate(self) -> None:
        if self.unlabelled and not self.teacher:
            raise ValueError("--unlabelled texts need a --teacher to label them")
        if not 0 <= self.distill_weight <= 1 or self.temperature <= 0:
            raise ValueError("--distill-weight must be in [0, 1] and --temperature above 0")
        if not (self.sentiment or self.topic or self.multi):
            raise ValueError("no training data: give --sentiment, --topic or --multi files")
        if not 0 <= self.valid_fraction < 1:
            raise ValueError("--valid-fraction must be in [0, 1)")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("--epochs and --batch-size must be at least 1")


@dataclass
class AdaptArgs:
    """`finmon adapt`: continue a finmon model on a team's own labels, keeping its behaviour elsewhere."""

    output: str | None = _arg(None, "output model directory (a new one, or a finmon model directory to replace)")
    labels: tuple[str, ...] = _arg((), "label files: CSV/JSONL (text, sentiment and/or topic) or Label Studio JSON")
    from_index: bool = _arg(False, "also use the labels stored in Elasticsearch (FINMON_ES__LABELS_INDEX)")
    model: str = _arg("default", "starting model: default, accurate or a model directory")
    unlabelled: tuple[str, ...] = _arg(
        ("builtin:news",),
        "texts the starting model labels softly, to keep its behaviour (.txt, CSV/JSONL, builtin:news)",
    )
    index_texts: int = _arg(2000, "with --from-index: this many recent news texts from the index join --unlabelled")
    holdout: float = _arg(0.15, "labels held out (seeded, stratified) for the card's before/after: a share or a count")
    valid_sentiment: tuple[str, ...] = _arg((), "sentiment file(s) (text,label) reported before/after on the card")
    valid_topic: tuple[str, ...] = _arg((), "topic file(s) (text,label) reported before/after on the card")
    valid_multi: tuple[str, ...] = _arg((), "file(s) with sentiment/topic columns reported before/after on the card")
    epochs: int = _arg(5, "passes over the labels (each with a fresh draw of unlabelled texts)")
    unlabelled_per_label: float = _arg(2.0, "unlabelled texts drawn per labelled text in each pass")
    batch_size: int = _arg(32, "texts per optimiser step (labelled and unlabelled mixed)")
    lr: float = _arg(5e-4, "learning rate of the adapter (LoRA) weights")
    head_lr: float = _arg(1e-3, "learning rate of the heads")
    soft_weight: float = _arg(1.0, "weight of the starting model's soft labels where a text has no label")
    temperature: float = _arg(2.0, "softmax temperature of the soft labels")
    class_weights: Literal["sqrt", "inverse", "none"] = _arg(
        "inverse", "class weighting of the labels' loss (inverse: a team's skewed labels do not move the prior)"
    )
    max_length: int = _arg(64, "tokens per training text")
    seed: int = _arg(13, "seed of the held-out split, the draws, the batch order and dropout")
    threads: int | None = _arg(None, "torch CPU threads (default: torch's choice)")
    name: str | None = _arg(None, "model name in finmon_model.json (default: the starting model's)")
    version: str | None = _arg(None, "model version (default: the starting model's + '+adapt.YYYYMMDD')")
    overwrite: bool = _arg(False, "replace OUTPUT even when it is a non-empty directory that is not a finmon model")

    def validate(self) -> None:
        if not self.output:
            raise ValueError("--output DIR is required")
        if not (self.labels or self.from_index):
            raise ValueError("no labels: give --labels FILE... and/or --from-index")
        if self.holdout < 0 or (self.holdout >= 1 and self.holdout != int(self.holdout)):
            raise ValueError("--holdout must be a share in [0, 1) or a whole count of labels")
        if self.epochs < 1 or self.batch_size < 1 or self.unlabelled_per_label < 0 or self.index_texts < 0:
            raise ValueError("--epochs and --batch-size must be at least 1, the others at least 0")
        if self.temperature <= 0 or self.soft_weight < 0 or self.lr <= 0 or self.head_lr <= 0:
            raise ValueError("--temperature, --lr and --head-lr must be above 0 and --soft-weight at least 0")
