"""Batch scoring: normalise, window, length-sort, pad per micro-batch, one forward pass for both heads."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from monitor.contracts import Prediction
from monitor.news.schemas import SENTIMENT_LABELS
from monitor.scoring.batching import mean_by_owner, plan_microbatches
from monitor.scoring.modeldir import ModelSpec, model_dir_for
from monitor.scoring.modeldir import model_hash as content_hash
from monitor.scoring.network import MultiTaskModel, load_model
from monitor.scoring.onnx_backend import OnnxRunner, cached_onnx_model, softmax
from monitor.scoring.textnorm import normalize
from monitor.stage_settings import ModelSettings

log = logging.getLogger(__name__)


SMALL_MODEL_PARAMETERS = 5_000_000


def is_small(model: torch.nn.Module) -> bool:
    """A model too small for intra-op threads to pay: its matrices split across threads cost more in hand-offs
    than they save, and the idle threads spin on cores the rest of the worker (decoding, indexing, the
    embedded servers) needs. Such a model scores on one torch thread unless FINMON_MODEL__TORCH_THREADS says
    otherwise (measured on 2 cores with a tiny BERT: 522 docs/s on one thread, 68 on two under load)."""
    return sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("FINMON_MODEL__DEVICE=cuda but no CUDA device is available")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class Scorer:
    """Scores texts with a finmon model; thread-compatible (call from one thread at a time)."""

    def __init__(
        self,
        model: MultiTaskModel,
        tokenizer,
        spec: ModelSpec,
        *,
        device: torch.device | str = "cpu",
        max_batch: int = 64,
        max_length: int | None = None,
        stride: int = 32,
        runner: OnnxRunner | None = None,
        model_hash: str = "",
    ) -> None:
        self.device = torch.device(device)
        self.runner = runner  # when set, batches run through ONNX Runtime instead of torch
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.spec = spec
        self.model_hash = model_hash  # computed once at load by from_settings; documents record it
        self.max_batch = max_batch
        self.max_length = max_length or spec.max_length
        self.stride = min(stride, self.max_length // 2)
        self.pad_id = tokenizer.pad_token_id or 0
        sentiment_labels = spec.labels["sentiment"]
        self._sentiment_order = [sentiment_labels.index(name) for name in SENTIMENT_LABELS]

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> Scorer:
        model_dir = model_dir_for(settings.path)
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        model, tokenizer, spec = load_model(model_dir)
        if not settings.torch_threads and settings.device != "cuda" and is_small(model):
            torch.set_num_threads(1)
        runner = _onnx_runner(model, model_dir, settings) if settings.backend == "onnx" else None
        return cls(
            model,
            tokenizer,
            spec,
            device=pick_device(settings.device),
            max_batch=settings.max_batch,
            max_length=settings.max_length,
            stride=settings.window_stride,
            runner=runner,
            model_hash=content_hash(model_dir, spec),
        )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    def windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token ids of every window and the index of the text each belongs to."""
        encoded = self.tokenizer(
            [normalize(text) for text in texts],
            truncation=True,
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            padding=False,
        )
        return encoded["input_ids"], list(encoded["overflow_to_sample_mapping"])

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        ids, owners = self.windows(texts)
        topic_rows: list[list[float]] = [[] for _ in ids]
        sentiment_rows: list[list[float]] = [[] for _ in ids]
        for batch in plan_microbatches([len(row) for row in ids], self.max_batch):
            probs = self._forward([ids[i] for i in batch])
            for j, index in enumerate(batch):
                topic_rows[index] = probs["topic"][j]
                sentiment_rows[index] = probs["sentiment"][j]
        topics = mean_by_owner(topic_rows, owners, len(texts))
        sentiments = mean_by_owner(sentiment_rows, owners, len(texts))
        counts = [0] * len(texts)
        for owner in owners:
            counts[owner] += 1
        return [self._prediction(t, s, n) for t, s, n in zip(topics, sentiments, counts, strict=True)]

    def _prediction(self, topic: list[float], sentiment: list[float], windows: int) -> Prediction:
        best = max(range(len(topic)), key=topic.__getitem__)
        ordered = tuple(sentiment[i] for i in self._sentiment_order)
        label = SENTIMENT_LABELS[max(range(3), key=ordered.__getitem__)]
        return Prediction(
            self.spec.labels["topic"][best], topic[best], label, (ordered[0], ordered[1], ordered[2]), windows
        )

    def _forward(self, rows: list[list[int]]) -> dict[str, list[list[float]]]:
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        if self.runner is not None:
            logits = self.runner(input_ids.numpy(), mask.numpy())
            return {task: softmax(value).tolist() for task, value in logits.items()}
        with torch.inference_mode(), self._autocast():
            logits = self.model(input_ids.to(self.device), mask.to(self.device))
        return {task: torch.softmax(value.float(), dim=-1).cpu().tolist() for task, value in logits.items()}

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)


def _onnx_runner(model: MultiTaskModel, model_dir: Path, settings: ModelSettings) -> OnnxRunner:
    if settings.device == "cuda":
        raise RuntimeError("FINMON_MODEL__BACKEND=onnx runs on the CPU; use the torch backend for CUDA")
    path = cached_onnx_model(model, model_dir, settings.onnx_cache_dir, settings.onnx_precision)
    return OnnxRunner(path, settings.torch_threads)
