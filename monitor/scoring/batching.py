"""Micro-batch planning and window aggregation for scoring (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def plan_microbatches(lengths: Sequence[int], max_batch: int, max_tokens: int | None = None) -> list[list[int]]:
    """Group indices by length (longest first) so each batch pads little and stays under a token budget.

    A batch holds at most `max_batch` sequences and, when `max_tokens` is given, at most that many padded
    tokens (longest length x count); a single sequence longer than the budget still gets its own batch.
    """
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        too_many = len(current) >= max_batch
        too_big = max_tokens is not None and current and longest * (len(current) + 1) > max_tokens
        if too_many or too_big:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def mean_by_owner(rows: Sequence[Sequence[float]], owners: Sequence[int], n_owners: int) -> list[list[float]]:
    """Average the rows that belong to each owner (windows of one document); also returns no empty owner."""
    if not rows:
        return [[] for _ in range(n_owners)]
    width = len(rows[0])
    sums = [[0.0] * width for _ in range(n_owners)]
    counts = [0] * n_owners
    for row, owner in zip(rows, owners, strict=True):
        counts[owner] += 1
        acc = sums[owner]
        for j, value in enumerate(row):
            acc[j] += value
    for owner, count in enumerate(counts):
        if count == 0:
            raise ValueError(f"document {owner} has no window")
        sums[owner] = [value / count for value in sums[owner]]
    return sums
