"""The class-weight prior correction: −log(w) per class, kept only where held-out macro-F1 does not fall."""

from __future__ import annotations

import math

import pytest
import torch

from training.calibrate import calibrate, prior_offsets


def test_offsets_are_minus_log_weight_and_zero_for_absent_classes() -> None:
    offsets = prior_offsets(torch.tensor([2.0, 1.0, 0.5, 0.0]))
    assert offsets.tolist() == pytest.approx([-math.log(2), 0.0, math.log(2), 0.0])


def skewed_head(weights: torch.Tensor, n: int = 3000, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """A head that learnt log(w_c · p(c|x)): true posteriors from noisy class evidence, shifted by log w."""
    generator = torch.Generator().manual_seed(seed)
    prior = torch.tensor([0.15, 0.65, 0.20])
    gold = torch.multinomial(prior, n, replacement=True, generator=generator)
    shift = 1.5  # evidence ~ N(shift · onehot(gold), I), so log p(c|x) = shift · x_c + log prior_c + const
    evidence = torch.randn(n, 3, generator=generator)
    evidence[torch.arange(n), gold] += shift
    posterior_logits = shift * evidence + prior.log()
    return posterior_logits + weights.log(), gold


def test_a_weighted_head_gets_its_prior_back() -> None:
    weights = torch.tensor([2.6, 1.0, 2.2])  # inverse-sqrt weights of a 15/65/20 split, neutral as reference
    logits, gold = skewed_head(weights)
    result = calibrate(logits, gold, weights)
    assert result.applied
    assert result.after["accuracy"] > result.before["accuracy"] + 0.01
    assert result.after["macro_f1"] >= result.before["macro_f1"]
    assert result.offsets == pytest.approx(prior_offsets(weights).tolist(), abs=1e-6)


def test_a_correction_that_hurts_is_not_applied() -> None:
    logits, gold = skewed_head(torch.ones(3))  # an unweighted head: already calibrated
    result = calibrate(logits, gold, torch.tensor([0.2, 5.0, 0.2]))  # would push everything to neutral
    assert not result.applied
    assert result.after["macro_f1"] < result.before["macro_f1"]
