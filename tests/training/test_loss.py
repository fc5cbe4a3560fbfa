"""The masked multi-task loss: unlabelled examples count for nothing, known values, class weights."""

from __future__ import annotations

import math

import pytest
import torch

from training.labelled_files import IGNORE
from training.loss import masked_multitask_loss


def nll(row: list[float], target: int) -> float:
    return -row[target] + math.log(sum(math.exp(v) for v in row))


def test_known_value_of_one_task_is_the_mean_cross_entropy_over_labelled_rows() -> None:
    rows = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, -5.0, 3.0]]
    logits = {"sentiment": torch.tensor(rows)}
    labels = {"sentiment": torch.tensor([0, 1, IGNORE])}
    loss, parts = masked_multitask_loss(logits, labels)
    expected = (nll(rows[0], 0) + nll(rows[1], 1)) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert parts == {"sentiment": pytest.approx(expected, rel=1e-6)}


def test_an_example_without_a_label_adds_nothing_to_that_task() -> None:
    topic = torch.tensor([[0.5, -1.0], [3.0, 0.0]], requires_grad=True)
    sentiment = torch.tensor([[1.0, 0.0, -1.0], [0.2, 0.1, 0.0]], requires_grad=True)
    labels = {"topic": torch.tensor([1, IGNORE]), "sentiment": torch.tensor([IGNORE, 2])}
    loss, parts = masked_multitask_loss({"topic": topic, "sentiment": sentiment}, labels)
    assert parts["topic"] == pytest.approx(nll([0.5, -1.0], 1), rel=1e-6)
    assert parts["sentiment"] == pytest.approx(nll([0.2, 0.1, 0.0], 2), rel=1e-6)
    assert float(loss.detach()) == pytest.approx(parts["topic"] + parts["sentiment"], rel=1e-6)
    loss.backward()
    assert topic.grad is not None and sentiment.grad is not None
    assert torch.count_nonzero(topic.grad[1]) == 0 and torch.count_nonzero(sentiment.grad[0]) == 0
    assert torch.count_nonzero(topic.grad[0]) > 0 and torch.count_nonzero(sentiment.grad[1]) > 0

    # changing the unlabelled rows' logits changes nothing
    other = {
        "topic": torch.tensor([[0.5, -1.0], [-9.0, 9.0]]),
        "sentiment": torch.tensor([[7.0, 7.0, 7.0], [0.2, 0.1, 0.0]]),
    }
    assert float(masked_multitask_loss(other, labels)[0]) == pytest.approx(float(loss.detach()), rel=1e-6)


def test_a_task_with_no_label_in_the_batch_is_skipped_not_nan() -> None:
    logits = {"topic": torch.randn(2, 4), "sentiment": torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])}
    labels = {"topic": torch.tensor([IGNORE, IGNORE]), "sentiment": torch.tensor([0, 2])}
    loss, parts = masked_multitask_loss(logits, labels)
    assert set(parts) == {"sentiment"}
    assert math.isfinite(float(loss))
    assert float(loss) == pytest.approx(nll([1.0, 0.0, 0.0], 0), rel=1e-6)


def test_a_batch_without_any_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="without any label"):
        masked_multitask_loss({"topic": torch.randn(1, 3)}, {"topic": torch.tensor([IGNORE])})


def test_class_weights_give_the_weighted_mean() -> None:
    rows = [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.5], [0.3, 0.2, 0.1]]
    targets = [0, 1, 2, IGNORE]
    weight = torch.tensor([2.0, 1.0, 0.5])
    loss, _ = masked_multitask_loss(
        {"sentiment": torch.tensor(rows)}, {"sentiment": torch.tensor(targets)}, {"sentiment": weight}
    )
    w = weight.tolist()
    expected = sum(w[t] * nll(r, t) for r, t in zip(rows[:3], targets[:3], strict=True)) / sum(
        w[t] for t in targets[:3]
    )
    unweighted = sum(nll(r, t) for r, t in zip(rows[:3], targets[:3], strict=True)) / 3
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert expected != pytest.approx(unweighted, rel=1e-3)


def test_class_weights_in_another_dtype_are_applied_to_half_precision_logits() -> None:
    logits = {"sentiment": torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]], dtype=torch.bfloat16)}
    labels = {"sentiment": torch.tensor([1, 2])}
    weight = torch.tensor([1.0, 3.0, 1.0], dtype=torch.float64)
    loss, _ = masked_multitask_loss(logits, labels, {"sentiment": weight, "topic": None})
    expected = (3 * nll([1.0, 0.0, 0.0], 1) + nll([0.0, 0.0, 2.0], 2)) / 4
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(expected, rel=1e-3)
