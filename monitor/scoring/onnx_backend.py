"""ONNX Runtime int8 scoring on CPU: export the (merged) model once, quantise it, cache it by content hash."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monitor.scoring.modeldir import TASKS
from monitor.scoring.network import MultiTaskModel

log = logging.getLogger(__name__)

ONNX_HINT = "pip install 'finmon[onnx]'"
EXPORT_VERSION = "1"  # bump when the exported graph or the quantisation changes
OPSET = 17


class OnnxUnavailableError(ImportError):
    """onnx / onnxruntime are not installed."""


def _require_onnx() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise OnnxUnavailableError(f"the onnx backend needs onnxruntime: {ONNX_HINT}") from None
    return onnxruntime


def model_fingerprint(model_dir: Path) -> str:
    """Hash of every file of the model directory, so a retrained model gets a new cached export."""
    digest = hashlib.sha256(f"finmon-onnx-{EXPORT_VERSION}-{torch.__version__}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and "checkpoint" not in p.parts):
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]


class _Logits(torch.nn.Module):
    """The model with its outputs as a tuple in TASKS order (ONNX graphs return positional outputs)."""

    def __init__(self, model: MultiTaskModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(input_ids, attention_mask)
        return tuple(out[task] for task in TASKS)


def export_fp32(model: MultiTaskModel, path: Path) -> None:
    """TorchScript-based export with dynamic batch and sequence axes."""
    model = model.cpu().eval()
    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({task: {0: "batch"} for task in TASKS})
    with torch.no_grad():
        torch.onnx.export(
            _Logits(model).eval(),  # export restores the wrapper's mode: a new module's train() would leak into model
            (sample, sample),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=list(TASKS),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul/Gemm weights (activations stay float, quantised on the fly)."""
    _require_onnx()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def cached_onnx_model(model: MultiTaskModel, model_dir: Path, cache_dir: Path, precision: str = "int8") -> Path:
    """The ONNX file of this model directory (int8: dynamically quantised; fp32: as exported), made on first use."""
    if precision not in ("int8", "fp32"):
        raise ValueError(f"unknown ONNX precision {precision!r}; expected int8 or fp32")
    _require_onnx()
    target = cache_dir / f"{model_dir.name}-{model_fingerprint(model_dir)}" / f"model.{precision}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX %s (once) at %s", model_dir, precision, target)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / "model.int8.onnx"
        export_fp32(model, fp32)
        if precision == "int8":
            quantize_int8(fp32, int8)
        os.replace(int8 if precision == "int8" else fp32, target)  # atomic: others see no file or a whole one
    return target


class OnnxRunner:
    """Runs an exported model: (input_ids, attention_mask) int64 arrays → {task: logits}."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        ort = _require_onnx()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(list(TASKS), {"input_ids": input_ids, "attention_mask": attention_mask})
        return dict(zip(TASKS, outputs, strict=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
