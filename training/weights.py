"""Class weights for skewed label sets (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def class_counts(labels: Iterable[int], num_classes: int) -> list[int]:
    counts = Counter(labels)
    return [counts.get(i, 0) for i in range(num_classes)]


def inverse_frequency_weights(counts: list[int], power: float = 0.5, cap: float = 10.0) -> list[float]:
    """Weights ∝ (1/frequency)^power, normalised to mean 1 over the classes seen, clipped to `cap`.

    power=0.5 (inverse square root) lifts rare classes without letting a 44-example class dominate the loss;
    a class with no examples gets weight 0.
    """
    raw = [(1.0 / count) ** power if count else 0.0 for count in counts]
    seen = [w for w in raw if w > 0]
    if not seen:
        return [1.0] * len(counts)
    mean = sum(seen) / len(seen)
    return [min(cap, w / mean) for w in raw]
