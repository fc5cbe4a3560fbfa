"""`finmon labels bench`: figures for reading label files and ordering the review queue (prints, times
nothing it asserts). Synthetic rows in a temporary directory; no Elasticsearch."""

from __future__ import annotations

import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.labels.files import LabelFileError, read_label_files
from monitor.labels.queue import candidate, pick_queue
from monitor.news.schemas import SENTIMENT_LABELS, TOPIC_LABELS

WORDS = ("stocks", "bonds", "rally", "slide", "fed", "rates", "oil", "gold", "bank", "merger", "profit", "loss",
         "guidance", "outlook", "shares", "dollar")  # fmt: skip


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    try:
        result = work()
    except LabelFileError as exc:
        result = exc
    return result, time.perf_counter() - start


def _write_rows(path: Path, rows: int, chance: random.Random) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("text,sentiment,topic\n")
        for n in range(rows):
            topic = chance.choice(TOPIC_LABELS) if n % 2 else ""
            out.write(f'{" ".join(chance.choices(WORDS, k=12))} {n},{chance.choice(SENTIMENT_LABELS)},"{topic}"\n')
    return path


def _oversized(path: Path, megabytes: int) -> Path:
    with path.open("wb") as out:
        out.write(b"text,sentiment\n")
        out.truncate(megabytes * 1024 * 1024)
    return path


def _candidates(count: int, chance: random.Random) -> list[Any]:
    found = []
    for n in range(count):
        weights = [chance.random() for _ in range(3)]
        probs = dict(zip(SENTIMENT_LABELS, (w / sum(weights) for w in weights), strict=True))
        source = {
            "title": " ".join(chance.choices(WORDS, k=10)),
            "sentiment_probs": probs,
            "topic": chance.choice(TOPIC_LABELS),
            "topic_confidence": chance.random(),
            "tickers": [f"T{chance.randrange(50)}"],
        }
        found.append(candidate(f"n{n}", source))
    return found


def run_bench(rows: int, candidates: int, queue: int, seed: int = 0) -> list[str]:
    """One line per figure."""
    chance = random.Random(seed)
    lines = []
    with tempfile.TemporaryDirectory(prefix="finmon-labels-bench-") as folder:
        path = _write_rows(Path(folder) / "labels.csv", rows, chance)
        labels, seconds = _timed(lambda: read_label_files([path], SENTIMENT_LABELS, TOPIC_LABELS))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = path.stat().st_size / 1e6
        lines.append(f"read {len(labels):,} labelled rows ({size:.1f} MB CSV): {seconds:.2f} s, "
                     f"{len(labels) / seconds:,.0f} rows/s, peak RSS {peak:.0f} MB")  # fmt: skip
        big = _oversized(Path(folder) / "big.csv", 100)
        refused, seconds = _timed(lambda: read_label_files([big], SENTIMENT_LABELS, TOPIC_LABELS))
        lines.append(f"100 MB file: refused in {seconds * 1000:.1f} ms ({refused})")
    pool = _candidates(candidates, chance)
    picked, seconds = _timed(lambda: pick_queue(pool, set(), queue))
    lines.append(f"review queue: {len(picked)} of {candidates:,} candidates ordered in {seconds * 1000:.1f} ms")
    return lines
