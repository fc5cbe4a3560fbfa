"""A saved PEFT LoRA adapter merged into a fresh base by monitor.scoring.network.merge_lora (no peft at load time) gives
the PEFT-wrapped model's outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import BertModel

from monitor.scoring.modeldir import ModelFormatError
from monitor.scoring.network import merge_lora

peft = pytest.importorskip("peft")  # the `train` extra: it writes the adapters merged here

INPUT_IDS = torch.tensor([[2, 140, 141, 142, 150, 3, 0, 0], [2, 160, 161, 162, 163, 164, 165, 3]])
MASK = (INPUT_IDS != 0).long()


def wrapped(base: Path, **config: Any) -> torch.nn.Module:
    """A PEFT LoRA model over the base with random (non-zero) A and B, so the adapter is not a no-op."""
    torch.manual_seed(7)
    lora = peft.LoraConfig(
        r=config.pop("r", 4),
        lora_alpha=config.pop("lora_alpha", 8),
        target_modules=config.pop("target_modules", ["query", "key", "value", "dense"]),
        lora_dropout=0.0,
        **config,
    )
    model = peft.get_peft_model(BertModel.from_pretrained(str(base), add_pooling_layer=False), lora)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                param.normal_(0.0, 0.2)
    return model.eval()


def hidden(model: torch.nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=INPUT_IDS, attention_mask=MASK).last_hidden_state


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"use_rslora": True},
        {"r": 8, "lora_alpha": 4, "alpha_pattern": {"value": 16}, "rank_pattern": {"query": 2}},
        {"target_modules": ["query", "value"], "bias": "lora_only"},
    ],
    ids=["plain", "rslora", "patterns", "lora-bias"],
)
def test_merged_adapter_matches_the_peft_model(tiny_base: Path, tmp_path: Path, config: dict[str, Any]) -> None:
    peft_model = wrapped(tiny_base, **config)
    if config.get("bias") == "lora_only":
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if param.requires_grad and name.endswith(".bias"):
                    param.normal_(0.0, 0.2)
    expected = hidden(peft_model)
    peft_model.save_pretrained(str(tmp_path / "adapter"))

    fresh = BertModel.from_pretrained(str(tiny_base), add_pooling_layer=False).eval()
    untouched = hidden(fresh)
    assert not torch.allclose(untouched, expected, atol=1e-3)  # the adapter changes the outputs
    merge_lora(fresh, tmp_path / "adapter")
    torch.testing.assert_close(hidden(fresh), expected, atol=1e-5, rtol=1e-5)


def test_a_dora_adapter_is_refused_by_the_peft_free_merge(tiny_base: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    wrapped(tiny_base).save_pretrained(str(adapter))
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(ModelFormatError, match="DoRA"):
        merge_lora(BertModel.from_pretrained(str(tiny_base), add_pooling_layer=False), adapter)
