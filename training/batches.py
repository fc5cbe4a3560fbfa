"""Tokenising examples once, seeded per-epoch batch order, and dynamic padding."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from monitor.scoring.modeldir import TASKS
from training.labelled_files import Example


def encode(texts: Sequence[str], tokenizer, max_length: int) -> list[list[int]]:
    """Token ids of each (already normalised) text, cut at max_length; padding happens per batch."""
    return list(tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)["input_ids"])


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, lengths: Sequence[int] | None = None, pool: int = 50
) -> list[list[int]]:
    """The same shuffled batches for the same (seed, epoch), so a resumed run skips exactly what it did.

    With `lengths`, batches are bucketed: the shuffled order is cut into pools of `pool` batches, each pool is
    sorted by length and cut into batches, and the batches are shuffled. Batches stay random in content and
    order, but hold texts of similar length, so dynamic padding wastes little compute."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(n))
    rng.shuffle(order)
    if lengths is None:
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    batches: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, n, span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids and attention_mask padded to the longest row of this batch only."""
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return input_ids, mask


def collate(
    ids: Sequence[Sequence[int]], examples: Sequence[Example], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    input_ids, mask = pad(ids, pad_id)
    labels = {task: torch.tensor([ex.labels[t] for ex in examples], dtype=torch.long) for t, task in enumerate(TASKS)}
    return input_ids, mask, labels
