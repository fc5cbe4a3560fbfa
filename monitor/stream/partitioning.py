"""Kafka's default partition of keyed records (murmur2), for many keys at once (pure, numpy).

The worker sends news.scored and news.dlq records with an explicit partition; this gives the
partition Kafka's default partitioner (Java, kafka-python, aiokafka) would pick for the same key, so a
consumer keyed by news id sees each news item on one partition. aiokafka's murmur2 is pure Python (about
15 µs a key); news ids all have the same length, so one vectorised pass covers a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEED = np.uint32(0x9747B28C)
M = np.uint32(0x5BD1E995)


def murmur2(keys: Sequence[bytes]) -> np.ndarray:
    """Kafka's murmur2 hash (as unsigned 32-bit values) of each key."""
    hashes = np.empty(len(keys), dtype=np.uint32)
    by_length: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(index)
    for length, indices in by_length.items():
        hashes[indices] = _murmur2_same_length([keys[i] for i in indices], length)
    return hashes


def _murmur2_same_length(keys: list[bytes], length: int) -> np.ndarray:
    data = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), length)
    with np.errstate(over="ignore"):
        h = np.full(len(keys), SEED ^ np.uint32(length), dtype=np.uint32)
        whole = length // 4 * 4
        words = np.ascontiguousarray(data[:, :whole]).view("<u4").astype(np.uint32)
        for column in range(words.shape[1]):
            k = words[:, column] * M
            k ^= k >> np.uint32(24)
            k *= M
            h *= M
            h ^= k
        tail = length - whole
        if tail:
            for shift in reversed(range(tail)):
                h ^= data[:, whole + shift].astype(np.uint32) << np.uint32(8 * shift)
            h *= M
        h ^= h >> np.uint32(13)
        h *= M
        h ^= h >> np.uint32(15)
    return h


def partitions_for(keys: Sequence[bytes], partitions: Sequence[int]) -> list[int]:
    """The partition of each key among a topic's `partitions`, as Kafka's default partitioner picks it."""
    ordered = sorted(partitions)
    if len(ordered) == 1:
        return [ordered[0]] * len(keys)
    positive = murmur2(keys) & np.uint32(0x7FFFFFFF)
    return [ordered[i] for i in (positive % np.uint32(len(ordered))).tolist()]
