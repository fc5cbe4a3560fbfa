"""Writing a trained model in the finmon model directory format (monitor/scoring/modeldir.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from monitor.scoring.modeldir import HEADS_FILE, SPEC_FILE, ModelSpec
from monitor.scoring.network import MultiTaskModel, save_heads

ADAPTER_DIR = "adapter"
ADAPTER_FILE = "adapter_model.safetensors"
ENCODER_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
CONFIG_FILE = "training_config.json"
METRICS_FILE = "metrics.json"


def export_model(
    model: MultiTaskModel, tokenizer: Any, spec_fields: dict[str, Any], output: Path, mode: str, base: str
) -> ModelSpec:
    """Save heads plus the adapter (lora: over `base`, tokenizer from the base) or the whole encoder (full).
    Adapter and heads are stored in fp16 (half the bytes; scoring merges them in fp32)."""
    output.mkdir(parents=True, exist_ok=True)
    for stale in (ADAPTER_DIR, ENCODER_DIR, TOKENIZER_DIR, SPEC_FILE):
        path = output / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if mode == "lora":
        model.encoder.save_pretrained(str(output / ADAPTER_DIR))  # PEFT layout: adapter_config + safetensors
        _strip_base_path(output / ADAPTER_DIR)
        to_half(output / ADAPTER_DIR / ADAPTER_FILE)
        spec = ModelSpec(base=base, tokenizer=None, adapter=ADAPTER_DIR, **spec_fields)
    else:
        model.encoder.save_pretrained(str(output / ENCODER_DIR))
        tokenizer.save_pretrained(str(output / TOKENIZER_DIR))
        spec = ModelSpec(base=ENCODER_DIR, tokenizer=TOKENIZER_DIR, **spec_fields)
    save_heads(model, output)
    to_half(output / HEADS_FILE)
    spec.save(output)
    return spec


def to_half(path: Path) -> None:
    """Rewrite a safetensors file with its floating-point tensors in fp16 (LoRA factors and heads keep their
    labels: the rounding is far below the weights' own spread)."""
    tensors = load_file(str(path))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}, str(path))


def _strip_base_path(adapter_dir: Path) -> None:
    """Drop the absolute local path PEFT records, so the committed adapter does not name this machine."""
    config_path = adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = None
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
