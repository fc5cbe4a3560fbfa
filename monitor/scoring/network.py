"""The multi-task network: one shared encoder, a topic head and a sentiment head, one forward pass."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from monitor.scoring.modeldir import HEADS_FILE, TASKS, ModelFormatError, ModelSpec, resolve_base

log = logging.getLogger(__name__)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-6)


class MultiTaskModel(nn.Module):
    """Encoder + one linear head per task over the mean-pooled (or [CLS]) representation."""

    def __init__(
        self, encoder: PreTrainedModel, num_labels: dict[str, int], pooling: str = "mean", dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        hidden = int(encoder.config.hidden_size)
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, n) for task, n in num_labels.items()})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(hidden, attention_mask) if self.pooling == "mean" else hidden[:, 0]
        pooled = self.dropout(pooled)
        return {task: head(pooled) for task, head in self.heads.items()}


def heads_state(model: MultiTaskModel) -> dict[str, torch.Tensor]:
    return {
        f"{task}.{name}": p.detach().cpu().contiguous()
        for task, head in model.heads.items()
        for name, p in head.state_dict().items()
    }


def save_heads(model: MultiTaskModel, model_dir: Path) -> None:
    save_file(heads_state(model), str(model_dir / HEADS_FILE))


def load_heads(model: MultiTaskModel, model_dir: Path) -> None:
    path = model_dir / HEADS_FILE
    if not path.is_file():
        raise ModelFormatError(f"{model_dir}: missing {HEADS_FILE}")
    state = load_file(str(path))
    for task, head in model.heads.items():
        head.load_state_dict({"weight": state[f"{task}.weight"], "bias": state[f"{task}.bias"]})


def merge_lora(encoder: PreTrainedModel, adapter_dir: Path) -> None:
    """Fold LoRA weights (PEFT's adapter layout) into the encoder: W += B @ A * scale. No peft needed.

    scale is alpha/r (alpha/sqrt(r) with rsLoRA), per module where PEFT's rank/alpha patterns say so.
    """
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    if config.get("use_dora"):
        raise ModelFormatError(f"{adapter_dir}: DoRA adapters are not supported by the peft-free merge")
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    params = dict(encoder.named_parameters())
    merged = 0
    for key, lora_a in tensors.items():
        if "lora_embedding" in key or "lora_magnitude" in key:
            raise ModelFormatError(f"{adapter_dir}: unsupported adapter weight {key}")
        if ".lora_A." not in key:
            continue
        module = key.split(".lora_A.")[0]
        target = _encoder_param_name(module, params)
        delta = tensors[key.replace(".lora_A.", ".lora_B.")].float() @ lora_a.float()
        if config.get("fan_in_fan_out"):
            delta = delta.T
        with torch.no_grad():
            params[target].add_((delta * lora_scale(config, module, lora_a.shape[0])).to(params[target].dtype))
        merged += 1
    for key, value in tensors.items():  # biases and modules_to_save shipped with the adapter
        if ".lora_" in key:
            continue
        name = _encoder_param_name(key.removesuffix(".weight").removesuffix(".bias"), params, key)
        with torch.no_grad():
            params[name].copy_(value)
    if merged == 0:
        raise ModelFormatError(f"{adapter_dir}: no LoRA weights found")


def lora_scale(config: dict[str, Any], module: str, rank: int) -> float:
    """alpha/r of one module, honouring PEFT's alpha_pattern and rsLoRA (the rank comes from the weights)."""
    alpha = float(config["lora_alpha"])
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if module.endswith(pattern) or re.fullmatch(rf".*\.{pattern}$", module):
            alpha = float(value)
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _encoder_param_name(prefix: str, params: dict[str, torch.nn.Parameter], full: str | None = None) -> str:
    """Map a PEFT key (base_model.model.encoder.layer.0....) to the encoder's own parameter name."""
    suffix = full[len(prefix) :] if full else ".weight"
    prefix = prefix.replace(".base_layer", "")  # PEFT keeps a wrapped layer's own bias under base_layer
    for strip in ("base_model.model.encoder.", "base_model.model.", "encoder.", ""):
        if prefix.startswith(strip):
            name = prefix[len(strip) :] + suffix
            if name in params:
                return name
    raise ModelFormatError(f"adapter weight {prefix}{suffix} matches no encoder parameter")


def load_tokenizer(spec: ModelSpec, model_dir: Path) -> PreTrainedTokenizerBase:
    source = str(model_dir / spec.tokenizer) if spec.tokenizer else resolve_base(spec.base, model_dir)
    return AutoTokenizer.from_pretrained(source)


def load_model(model_dir: Path) -> tuple[MultiTaskModel, PreTrainedTokenizerBase, ModelSpec]:
    """Load a finmon model directory onto the CPU, in eval mode, with any adapter merged."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    spec = ModelSpec.load(model_dir)
    base = resolve_base(spec.base, model_dir)
    encoder = AutoModel.from_pretrained(base)
    if spec.adapter:
        merge_lora(encoder, model_dir / spec.adapter)
    model = MultiTaskModel(encoder, {task: len(spec.labels[task]) for task in TASKS}, spec.pooling)
    load_heads(model, model_dir)
    model.eval()
    log.info("loaded model %s %s from %s", spec.name, spec.version, model_dir)
    return model, load_tokenizer(spec, model_dir), spec
