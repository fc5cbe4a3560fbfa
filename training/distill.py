"""Knowledge distillation: a trained finmon model (the teacher) gives soft labels for a smaller student.

The teacher scores every training text once, labelled or not, on both heads: a sentiment tweet gets a soft
topic label too, and unlabelled news text (`--unlabelled`) becomes training data. Its logits are cached in
OUTPUT/teacher_logits.pt, keyed by the teacher and the texts, so a resumed run does not score them again.
The student's loss mixes the hard-label loss with the temperature-scaled KL divergence to the teacher
(Hinton et al., 2015): `(1 - w) * hard + w * T² * KL(teacher_T || student_T)`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch.nn import functional

from monitor.scoring.modeldir import TASKS, model_dir_for
from monitor.scoring.network import MultiTaskModel, load_model
from monitor.scoring.textnorm import normalize
from training.batches import encode, pad
from training.labelled_files import IGNORE, DataError, Example, read_rows
from training.loss import masked_multitask_loss
from training.news_texts import BUILTIN, builtin_news

log = logging.getLogger(__name__)
CACHE_FILE = "teacher_logits.pt"


def read_unlabelled(paths: Sequence[str], text_column: str) -> list[Example]:
    """Texts without labels (`.txt`: one per line; CSV/JSONL: the text column; `builtin:news`: finmon's own
    news-style corpus, see training/news_texts.py), normalised and de-duplicated."""
    seen: set[str] = set()
    examples: list[Example] = []
    for name in paths:
        for raw in _texts(Path(name), text_column):
            text = normalize(raw)
            if text and text not in seen:
                seen.add(text)
                examples.append(Example(text, (IGNORE,) * len(TASKS)))
    return examples


def _texts(path: Path, text_column: str) -> list[str]:
    if str(path) == BUILTIN:
        return builtin_news()
    if path.suffix.lower() == ".txt":
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = []
    for number, row in read_rows(path):
        if text_column not in row:
            raise DataError(f"{path}:{number}: missing column {text_column!r}")
        texts.append(row[text_column])
    return texts


def teacher_logits(
    teacher: str,
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    max_length: int,
    cache_dir: Path,
    device: torch.device,
    batch: int = 64,
) -> dict[str, torch.Tensor]:
    """The teacher's logits for each text and head (float32, rows in `texts` order), cached on disk."""
    model_dir = model_dir_for(teacher)
    key = _cache_key(model_dir, texts, max_length)
    cache = cache_dir / CACHE_FILE
    if cache.is_file():
        stored = torch.load(cache, weights_only=True)
        if stored.get("key") == key:
            log.info("teacher logits from %s", cache)
            return {task: stored[task] for task in TASKS}
    model, tokenizer, spec = load_model(model_dir)
    for task in TASKS:
        if list(spec.labels[task]) != list(labels[task]):
            raise ValueError(f"teacher {teacher}: {task} labels {spec.labels[task]} differ from {list(labels[task])}")
    log.info("teacher %s %s scores %d texts", spec.name, spec.version, len(texts))
    out = _logits(model.to(device), encode(texts, tokenizer, max_length), tokenizer.pad_token_id or 0, device, batch)
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key, **out}, cache)
    return out


def _cache_key(model_dir: Path, texts: Sequence[str], max_length: int) -> str:
    digest = hashlib.sha256(f"{model_dir.resolve()}|{max_length}".encode())
    for name in ("finmon_model.json", "heads.safetensors"):
        if (model_dir / name).is_file():
            digest.update((model_dir / name).read_bytes())
    for text in texts:
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()


def _logits(
    model: MultiTaskModel, ids: Sequence[Sequence[int]], pad_id: int, device: torch.device, batch: int
) -> dict[str, torch.Tensor]:
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            input_ids, mask = pad([ids[i] for i in chunk], pad_id)
            logits = model(input_ids.to(device), mask.to(device))
            for task in TASKS:
                out.setdefault(task, torch.zeros(len(ids), logits[task].shape[-1]))[chunk] = logits[task].float().cpu()
    return out


def soft_loss(
    logits: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor], temperature: float
) -> torch.Tensor:
    """Sum over heads of T² · KL(teacher_T || student_T), averaged over the batch."""
    total = torch.zeros((), device=next(iter(logits.values())).device)
    for task, student in logits.items():
        total = total + head_kl(student, teacher[task].to(student.device), temperature)
    return total


def head_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(teacher_T || student_T) of one head's logits, averaged over the rows given."""
    target = functional.log_softmax(teacher / temperature, dim=-1)
    log_q = functional.log_softmax(student.float() / temperature, dim=-1)
    return functional.kl_div(log_q, target, log_target=True, reduction="batchmean") * temperature**2


def distill_loss(
    logits: Mapping[str, torch.Tensor],
    labels: Mapping[str, torch.Tensor],
    teacher: Mapping[str, torch.Tensor],
    weights: Mapping[str, torch.Tensor | None] | None,
    weight: float,
    temperature: float,
) -> torch.Tensor:
    """`(1 - weight) * hard + weight * soft`; a batch of unlabelled texts only has the soft part."""
    soft = soft_loss(logits, teacher, temperature)
    if not any(bool((target != IGNORE).any()) for target in labels.values()):
        return soft
    hard, _ = masked_multitask_loss(logits, labels, weights)
    return (1 - weight) * hard + weight * soft


def soft_where_unlabelled(
    logits: Mapping[str, torch.Tensor],
    labels: Mapping[str, torch.Tensor],
    teacher: Mapping[str, torch.Tensor],
    temperature: float,
) -> torch.Tensor:
    """Sum over heads of T² · KL(teacher_T || student_T), averaged over the rows that head has no label for."""
    total = torch.zeros((), device=next(iter(logits.values())).device)
    for task, student in logits.items():
        rows = labels[task].to(student.device) == IGNORE
        if not bool(rows.any()):
            continue
        total = total + head_kl(student[rows], teacher[task].to(student.device)[rows], temperature)
    return total


def adapt_loss(
    logits: Mapping[str, torch.Tensor],
    labels: Mapping[str, torch.Tensor],
    teacher: Mapping[str, torch.Tensor],
    weights: Mapping[str, torch.Tensor | None] | None,
    soft_weight: float,
    temperature: float,
) -> torch.Tensor:
    """`hard + soft_weight * soft`: a label is learnt as given (the teacher never argues with it), and each head
    follows the frozen starting model on the texts it has no label for, so adapting keeps its behaviour there."""
    soft = soft_where_unlabelled(logits, labels, teacher, temperature)
    if not any(bool((target != IGNORE).any()) for target in labels.values()):
        return soft_weight * soft
    hard, _ = masked_multitask_loss(logits, labels, weights)
    return hard + soft_weight * soft
