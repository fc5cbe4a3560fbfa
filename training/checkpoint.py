"""Resumable checkpoints: trainable weights, optimiser, schedule, progress and random state."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

LAST = "last.pt"
BEST = "best.pt"


@dataclass
class Progress:
    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_score: float = -1.0
    best_step: int = 0
    bad_evals: int = 0
    train_seconds: float = 0.0  # up to the last checkpoint, over every resumed run
    history: list[dict[str, Any]] = field(default_factory=list)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the weights being trained (for LoRA: adapters and heads, a few MB)."""
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = [name for name in state if name not in params]
    if missing:
        raise KeyError(f"checkpoint weights not in the model: {missing[:3]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def save_checkpoint(
    directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: Any, progress: Progress
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "model": trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "progress": asdict(progress),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
    }
    tmp = directory / (LAST + ".tmp")
    torch.save(state, tmp)
    tmp.replace(directory / LAST)


def save_best(directory: Path, model: nn.Module) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(trainable_state(model), directory / BEST)


def has_checkpoint(directory: Path) -> bool:
    return (directory / LAST).is_file()


def load_checkpoint(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: Any) -> Progress:
    path = directory / LAST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from")
    state = torch.load(path, weights_only=False)
    load_trainable_state(model, state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    return Progress(**state["progress"])


def load_best(directory: Path, model: nn.Module) -> bool:
    path = directory / BEST
    if not path.is_file():
        return False
    load_trainable_state(model, torch.load(path, weights_only=True))
    return True
