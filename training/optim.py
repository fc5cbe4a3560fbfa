"""AdamW with separate encoder / head learning rates, and a linear warm-up then linear decay schedule."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from monitor.scoring.network import MultiTaskModel


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def make_optimizer(model: MultiTaskModel, encoder_lr: float, head_lr: float, weight_decay: float) -> torch.optim.AdamW:
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = head_lr if name.startswith("heads.") else encoder_lr
        decay = 0.0 if _no_decay(name) else weight_decay
        groups.setdefault((lr, decay), []).append(param)
    param_groups = [{"params": params, "lr": lr, "weight_decay": decay} for (lr, decay), params in groups.items()]
    return torch.optim.AdamW(param_groups)


def warmup_linear_decay(step: int, warmup: int, total: int) -> float:
    """Multiplier of the base learning rate at `step` (pure)."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def make_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: warmup_linear_decay(step, warmup, total))
