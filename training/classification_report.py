"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], num_classes: int) -> list[list[int]]:
    """matrix[g][p] counts examples of gold class g predicted as p."""
    matrix = [[0] * num_classes for _ in range(num_classes)]
    for g, p in zip(gold, pred, strict=True):
        matrix[g][p] += 1
    return matrix


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def per_class(matrix: list[list[int]], names: Sequence[str]) -> dict[str, dict[str, float]]:
    report: dict[str, dict[str, float]] = {}
    for i, name in enumerate(names):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        report[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return report


def classification_report(gold: Sequence[int], pred: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (over classes present in gold or predictions), per-class figures and the matrix."""
    if not gold:
        raise ValueError("no examples to evaluate")
    matrix = confusion_matrix(gold, pred, len(names))
    classes = per_class(matrix, names)
    present = [i for i in range(len(names)) if sum(matrix[i]) or sum(row[i] for row in matrix)]
    macro_f1 = sum(classes[names[i]]["f1"] for i in present) / len(present)
    accuracy = sum(matrix[i][i] for i in range(len(names))) / len(gold)
    return {
        "n": len(gold),
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "per_class": classes,
        "confusion_matrix": matrix,
        "labels": list(names),
    }
