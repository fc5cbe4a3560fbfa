"""Post-hoc logit adjustment: undo the prior shift that class-weighted training leaves in a head (pure).

A head trained with class weights w_c learns logits ≈ log(w_c · p(c | x)) + const, so it calls minority classes
too often: the distilled MiniLM calls many neutral tweets negative. Adding −log(w_c) to each class's logit
(Menon et al., 2021, "Long-tail learning via logit adjustment") restores log p(c | x); the offsets are folded
into the head's bias at export, so scoring is unchanged. No parameter is fitted: the held-out split only decides
whether a head keeps the adjustment, which it does when its held-out macro-F1 does not fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training.classification_report import classification_report


@dataclass(frozen=True)
class Calibration:
    offsets: tuple[float, ...]  # added to the head's logits (its bias) when applied
    before: dict[str, float]  # held-out accuracy / macro-F1 without the offsets
    after: dict[str, float]  # ... and with them
    applied: bool


def prior_offsets(weights: torch.Tensor) -> torch.Tensor:
    """−log(w_c) for each class; 0 for a class without examples (weight 0)."""
    safe = torch.where(weights > 0, weights, torch.ones_like(weights))
    return -torch.log(safe.float())


def scores(logits: torch.Tensor, gold: torch.Tensor, offsets: torch.Tensor) -> dict[str, float]:
    names = [str(i) for i in range(logits.shape[1])]
    report = classification_report(gold.tolist(), (logits + offsets).argmax(-1).tolist(), names)
    return {"accuracy": float(report["accuracy"]), "macro_f1": float(report["macro_f1"])}


def calibrate(logits: torch.Tensor, gold: torch.Tensor, weights: torch.Tensor) -> Calibration:
    """The prior correction for a head trained with `weights`, kept if held-out macro-F1 does not fall."""
    offsets = prior_offsets(weights)
    before = scores(logits, gold, torch.zeros_like(offsets))
    after = scores(logits, gold, offsets)
    applied = after["macro_f1"] >= before["macro_f1"]
    return Calibration(tuple(round(float(v), 6) for v in offsets), before, after, applied)
