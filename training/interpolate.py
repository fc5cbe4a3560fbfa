"""Weight-space interpolation of a finmon model and the model it was adapted from (WiSE-FT, Wortsman et al., 2022).

`alpha = 0` is the starting model, `alpha = 1` the adapted one; in between, every weight the two models' adapters
and heads change lies on the straight line between them. The encoder's change of a LoRA model is `B @ A * scale`,
so the line is `(1 - alpha) * B0 @ A0 * s0 + alpha * B1 @ A1 * s1`: exactly a LoRA adapter of the two ranks added,
`A = [A0; A1]` and `B = [(1 - alpha) * s0 * B0, alpha * s1 * B1]` at scale 1 (no approximation; the adapter file
doubles). The heads and any other adapter weights are interpolated directly. Both models must be LoRA models over
the same base, with the same label names and adapted modules.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from monitor.scoring.modeldir import HEADS_FILE, ModelFormatError, ModelSpec
from monitor.scoring.network import lora_scale
from training.export import ADAPTER_DIR, ADAPTER_FILE

ADAPTER_CONFIG = "adapter_config.json"


def _check_pair(start: ModelSpec, adapted: ModelSpec) -> None:
    if not (start.adapter and adapted.adapter):
        raise ModelFormatError("interpolation needs two LoRA models (a model directory with an adapter each)")
    if start.base != adapted.base or dict(start.labels) != dict(adapted.labels):
        raise ModelFormatError("interpolation needs two models over the same base with the same label names")


def lora_line(
    a: dict[str, torch.Tensor],
    b: dict[str, torch.Tensor],
    config_a: dict[str, Any],
    config_b: dict[str, Any],
    alpha: float,
) -> dict[str, torch.Tensor]:
    """The adapter of `(1 - alpha) * delta_a + alpha * delta_b` at scale 1 (rank of a + rank of b)."""
    if set(a) != set(b):
        raise ModelFormatError("the two adapters adapt different modules")
    out: dict[str, torch.Tensor] = {}
    for key, value in a.items():
        if ".lora_B." in key:
            continue
        if ".lora_A." not in key:  # biases, modules_to_save: straight interpolation
            out[key] = ((1 - alpha) * value.float() + alpha * b[key].float()).to(value.dtype)
            continue
        module = key.split(".lora_A.")[0]
        key_b = key.replace(".lora_A.", ".lora_B.")
        scale_a = lora_scale(config_a, module, value.shape[0])
        scale_b = lora_scale(config_b, module, b[key].shape[0])
        out[key] = torch.cat([value.float(), b[key].float()], dim=0).to(value.dtype)
        up = [(1 - alpha) * scale_a * a[key_b].float(), alpha * scale_b * b[key_b].float()]
        out[key_b] = torch.cat(up, dim=1).to(a[key_b].dtype)
    return out


def line_config(config: dict[str, Any], rank: int) -> dict[str, Any]:
    """The adapted model's adapter config at rank `rank` and scale 1 (alpha = r; no per-module patterns)."""
    fixed = {"r": rank, "lora_alpha": rank, "alpha_pattern": {}, "rank_pattern": {}, "use_rslora": False}
    return {**config, **fixed}


def interpolate(start: Path, adapted: Path, alpha: float, output: Path, version: str | None = None) -> ModelSpec:
    """Write the model `alpha` of the way from `start` to `adapted` into `output` (a new directory): ADAPTED's
    name and label names, `version` (default: ADAPTED's + `+wise<alpha>`), its card and metrics left behind."""
    if not 0 <= alpha <= 1:
        raise ValueError("alpha must be in [0, 1]")
    spec_a, spec_b = ModelSpec.load(start), ModelSpec.load(adapted)
    _check_pair(spec_a, spec_b)
    assert spec_a.adapter and spec_b.adapter
    config_a = json.loads((start / spec_a.adapter / ADAPTER_CONFIG).read_text())
    config_b = json.loads((adapted / spec_b.adapter / ADAPTER_CONFIG).read_text())
    tensors = lora_line(
        load_file(str(start / spec_a.adapter / ADAPTER_FILE)),
        load_file(str(adapted / spec_b.adapter / ADAPTER_FILE)),
        config_a,
        config_b,
        alpha,
    )
    heads_a, heads_b = load_file(str(start / HEADS_FILE)), load_file(str(adapted / HEADS_FILE))
    if set(heads_a) != set(heads_b):
        raise ModelFormatError("the two models' heads differ in shape")
    heads = {k: ((1 - alpha) * v.float() + alpha * heads_b[k].float()).to(v.dtype) for k, v in heads_a.items()}
    output.mkdir(parents=True, exist_ok=False)
    (output / ADAPTER_DIR).mkdir()
    rank = int(config_a["r"]) + int(config_b["r"])
    (output / ADAPTER_DIR / ADAPTER_CONFIG).write_text(json.dumps(line_config(config_b, rank), indent=2) + "\n")
    save_file(tensors, str(output / ADAPTER_DIR / ADAPTER_FILE))
    save_file(heads, str(output / HEADS_FILE))
    for weights in output.rglob("*.safetensors"):
        weights.chmod(0o644)  # as finmon adapt leaves them: a worker of another user reads them
    if not Path(spec_b.base).is_absolute() and (adapted / spec_b.base).is_dir():  # a full encoder inside the model
        shutil.copytree(adapted / spec_b.base, output / spec_b.base)
    if spec_b.tokenizer:
        shutil.copytree(adapted / spec_b.tokenizer, output / spec_b.tokenizer)
    extra = {
        **spec_b.extra,
        "interpolated": {"start": f"{spec_a.name} {spec_a.version}", "adapted": spec_b.version, "alpha": alpha},
    }
    spec = replace(spec_b, adapter=ADAPTER_DIR, version=version or f"{spec_b.version}+wise{alpha:g}", extra=extra)
    spec.save(output)
    return spec
