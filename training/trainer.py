"""The training loop: masked multi-task loss, AdamW + warm-up/decay, bf16 autocast, early stopping, checkpoints."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from monitor.scoring.modeldir import TASKS
from monitor.scoring.network import MultiTaskModel
from training.batches import collate, epoch_batches, pad
from training.checkpoint import Progress, has_checkpoint, load_best, load_checkpoint, save_best, save_checkpoint
from training.classification_report import classification_report
from training.distill import adapt_loss, distill_loss
from training.labelled_files import IGNORE, Example
from training.loss import masked_multitask_loss
from training.optim import make_optimizer, make_schedule

log = logging.getLogger(__name__)

StepCallback = Callable[[int, float], None]  # (global step, loss)


@dataclass
class LoopConfig:
    """What the loop needs from TrainArgs (kept small so tests can build one directly)."""

    epochs: int
    batch_size: int
    encoder_lr: float
    head_lr: float
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    eval_steps: int = 0
    patience: int = 2
    seed: int = 13
    max_steps: int = 0
    bf16: bool = True
    resume: bool = False
    distill_weight: float = 0.5
    temperature: float = 2.0
    soft_only_unlabelled: bool = False  # finmon adapt: the teacher speaks only where a head has no label


@dataclass
class Encoded:
    """Examples with their token ids."""

    examples: Sequence[Example]
    ids: Sequence[Sequence[int]]
    teacher: Mapping[str, torch.Tensor] | None = None  # a teacher's logits per head, rows as examples


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 (AVX512-BF16/AMX); elsewhere bf16 is emulated and ~5x slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA (fp16 on GPUs without bf16) and on CPUs with native bf16; otherwise fp32."""
    if not bf16:
        return contextlib.nullcontext()
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def all_logits(
    model: MultiTaskModel, ids: Sequence[Sequence[int]], pad_id: int, device: torch.device, bf16: bool, batch: int = 128
) -> dict[str, torch.Tensor]:
    """Each head's logits for every text (float32 on the CPU, rows in `ids` order; sorted by length to run)."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: dict[str, torch.Tensor] = {}
    model.eval()
    with torch.inference_mode(), autocast(device, bf16):
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            input_ids, mask = pad([ids[i] for i in chunk], pad_id)
            logits = model(input_ids.to(device), mask.to(device))
            for task in TASKS:
                rows = logits[task].float().cpu()
                if task not in out:
                    out[task] = torch.zeros(len(ids), rows.shape[1])
                out[task][chunk] = rows
    return out


def predict(
    model: MultiTaskModel, ids: Sequence[Sequence[int]], pad_id: int, device: torch.device, bf16: bool, batch: int = 128
) -> dict[str, list[int]]:
    """Arg-max class of each text for every head."""
    logits = all_logits(model, ids, pad_id, device, bf16, batch)
    return {task: logits[task].argmax(-1).tolist() if task in logits else [] for task in TASKS}


def evaluate_holdout(
    model: MultiTaskModel,
    held: Encoded,
    labels: Mapping[str, Sequence[str]],
    pad_id: int,
    device: torch.device,
    bf16: bool,
) -> dict[str, dict[str, Any]]:
    """Per-task report on the held-out examples that carry that task's label."""
    predicted = predict(model, held.ids, pad_id, device, bf16)
    reports = {}
    for t, task in enumerate(TASKS):
        rows = [i for i, ex in enumerate(held.examples) if ex.labels[t] != IGNORE]
        if rows:
            gold = [held.examples[i].labels[t] for i in rows]
            reports[task] = classification_report(gold, [predicted[task][i] for i in rows], labels[task])
    return reports


def selection_score(reports: Mapping[str, Mapping[str, Any]]) -> float:
    """Mean macro-F1 over the tasks evaluated: what early stopping maximises."""
    return sum(float(r["macro_f1"]) for r in reports.values()) / max(1, len(reports))


class Trainer:
    """Runs the loop; `on_step` (the CLI's progress bar) is called after each optimiser step."""

    def __init__(
        self,
        model: MultiTaskModel,
        config: LoopConfig,
        train: Encoded,
        held: Encoded,
        labels: Mapping[str, Sequence[str]],
        class_weights: Mapping[str, torch.Tensor | None],
        pad_id: int,
        checkpoint_dir: Path,
        device: torch.device,
        epoch_rows: Callable[[int], Sequence[int]] | None = None,
    ) -> None:
        self.model = model.to(device)
        self.epoch_rows = epoch_rows  # the training rows of each epoch (default: all of them)
        self.config = config
        self.train, self.held, self.labels = train, held, labels
        self.class_weights = class_weights
        self.pad_id, self.checkpoint_dir, self.device = pad_id, checkpoint_dir, device
        self.steps_per_epoch = -(-len(self._rows(0)) // config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        if config.max_steps:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.optimizer = make_optimizer(model, config.encoder_lr, config.head_lr, config.weight_decay)
        self.schedule = make_schedule(self.optimizer, int(self.total_steps * config.warmup_ratio), self.total_steps)
        self.progress = Progress()
        self.eval_every = config.eval_steps or self.steps_per_epoch
        self._clock = time.monotonic()

    def fit(self, on_step: StepCallback | None = None) -> Progress:
        """Train until the epochs, max_steps or patience run out; the best weights are loaded at the end."""
        self._clock = time.monotonic()  # train_seconds counts from here to each checkpoint
        if self.config.resume and has_checkpoint(self.checkpoint_dir):
            self.progress = load_checkpoint(self.checkpoint_dir, self.model, self.optimizer, self.schedule)
            log.info("resumed at epoch %d step %d", self.progress.epoch, self.progress.global_step)
        elif self.config.resume:  # the same command starts a run and resumes it, e.g. from a restart loop
            log.info("no checkpoint in %s yet: starting at step 0", self.checkpoint_dir)
        while self.progress.epoch < self.config.epochs and not self._done():
            self._run_epoch(on_step)
        if not load_best(self.checkpoint_dir, self.model):
            log.warning("no evaluation was run: keeping the last weights")
        return self.progress

    def _done(self) -> bool:
        p = self.progress
        out_of_steps = bool(self.config.max_steps) and p.global_step >= self.config.max_steps
        return out_of_steps or p.bad_evals >= self.config.patience

    def _rows(self, epoch: int) -> Sequence[int]:
        return self.epoch_rows(epoch) if self.epoch_rows else range(len(self.train.examples))

    def _run_epoch(self, on_step: StepCallback | None) -> None:
        rows = list(self._rows(self.progress.epoch))
        lengths = [len(self.train.ids[i]) for i in rows]
        order = epoch_batches(len(rows), self.config.batch_size, self.config.seed, self.progress.epoch, lengths)
        batches = [[rows[j] for j in batch] for batch in order]
        final_epoch = self.progress.epoch == self.config.epochs - 1
        for batch in batches[self.progress.step_in_epoch :]:
            loss = self._step(batch)
            self.progress.step_in_epoch += 1
            self.progress.global_step += 1
            if on_step:
                on_step(self.progress.global_step, loss)
            last_step = final_epoch and self.progress.step_in_epoch == len(batches)
            if self.progress.global_step % self.eval_every == 0 or last_step or self._done():
                now = time.monotonic()
                self.progress.train_seconds += now - self._clock  # checkpointed: a resumed run keeps counting
                self._clock = now
                self._evaluate_and_checkpoint()
            if self._done():
                return
        self.progress.epoch += 1
        self.progress.step_in_epoch = 0

    def _step(self, batch: Sequence[int]) -> float:
        self.model.train()
        input_ids, mask, labels = collate(
            [self.train.ids[i] for i in batch], [self.train.examples[i] for i in batch], self.pad_id
        )
        with autocast(self.device, self.config.bf16):
            logits = self.model(input_ids.to(self.device), mask.to(self.device))
        labels = {t: v.to(self.device) for t, v in labels.items()}
        if self.train.teacher is None:
            loss, _ = masked_multitask_loss(logits, labels, self.class_weights)
        else:
            teacher = {task: rows[list(batch)] for task, rows in self.train.teacher.items()}
            c = self.config
            if c.soft_only_unlabelled:
                loss = adapt_loss(logits, labels, teacher, self.class_weights, c.distill_weight, c.temperature)
            else:
                loss = distill_loss(logits, labels, teacher, self.class_weights, c.distill_weight, c.temperature)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _evaluate_and_checkpoint(self) -> None:
        p = self.progress
        reports = evaluate_holdout(self.model, self.held, self.labels, self.pad_id, self.device, self.config.bf16)
        score = selection_score(reports)
        summary = {task: {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"]} for task, r in reports.items()}
        p.history.append({"step": p.global_step, "epoch": p.epoch, "score": score, **summary})
        if score > p.best_score:
            p.best_score, p.best_step, p.bad_evals = score, p.global_step, 0
            save_best(self.checkpoint_dir, self.model)
        else:
            p.bad_evals += 1
        log.info(
            "step %d: held-out mean macro-F1 %.4f (best %.4f at %d) %s",
            p.global_step,
            score,
            p.best_score,
            p.best_step,
            summary,
        )
        save_checkpoint(self.checkpoint_dir, self.model, self.optimizer, self.schedule, p)
