"""The masked multi-task loss: each example counts only for the tasks it has a label for."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.nn import functional

from training.labelled_files import IGNORE


def masked_multitask_loss(
    logits: Mapping[str, torch.Tensor],
    labels: Mapping[str, torch.Tensor],
    weights: Mapping[str, torch.Tensor | None] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over tasks of the (class-weighted) mean cross-entropy over the examples labelled for that task.

    A task with no labelled example in the batch adds nothing (plain cross-entropy would give NaN).
    Returns the loss and each task's value for logging.
    """
    total: torch.Tensor | None = None
    parts: dict[str, float] = {}
    for task, task_logits in logits.items():
        target = labels[task]
        if not bool((target != IGNORE).any()):
            continue
        weight = (weights or {}).get(task)
        if weight is not None:
            weight = weight.to(task_logits.device, torch.float32)
        loss = functional.cross_entropy(task_logits.float(), target, weight=weight, ignore_index=IGNORE)
        parts[task] = float(loss.detach())
        total = loss if total is None else total + loss
    if total is None:
        raise ValueError("a batch without any label")
    return total, parts
