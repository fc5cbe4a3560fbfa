"""`finmon replay`: JSONL or CSV files of news into news.raw, optionally at a steady rate."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from monitor.news.decoding import InvalidMessage, decode_news

CSV_FIELDS = ("title", "text", "summary", "url", "source", "published_at", "language", "id")


class ReplayError(ValueError):
    """The file cannot be replayed (unknown format, no usable columns)."""


class Producer(Protocol):
    def send(self, topic: str, value: bytes, key: bytes | None = None) -> object: ...

    def flush(self, timeout: float | None = None) -> None: ...


def read_jsonl(path: Path) -> Iterator[bytes]:
    """Every non-blank line, byte for byte: validation is the worker's job (bad lines reach the DLQ)."""
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def read_csv(path: Path) -> Iterator[bytes]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not columns & {"title", "text", "summary"}:
            raise ReplayError(f"{path}: a CSV needs a title or text column (found: {', '.join(sorted(columns))})")
        for row in reader:
            record: dict[str, object] = {k: v for k in CSV_FIELDS if (v := (row.get(k) or "").strip())}
            if tickers := (row.get("tickers") or "").strip():
                record["tickers"] = [t for t in tickers.replace(";", ",").split(",") if t.strip()]
            yield json.dumps(record, ensure_ascii=False).encode()


def read_records(path: Path) -> Iterator[bytes]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    if suffix == ".csv":
        return read_csv(path)
    raise ReplayError(f"{path}: unknown format {suffix!r} (use .jsonl or .csv)")


def message_key(raw: bytes) -> bytes | None:
    """The news id, so that one article always lands on one partition; None for a message that won't decode."""
    try:
        return decode_news(raw).id.encode()
    except InvalidMessage:
        return None


class Pacer:
    """Spaces calls `1/rate` seconds apart on an injected clock (no drift: it schedules, not sleeps)."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at is None:
            self.next_at = now
        if self.next_at > now:
            self.sleep(self.next_at - now)
        self.next_at += self.interval


def replay(
    path: Path,
    producer: Producer,
    topic: str,
    *,
    rate: float | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send every record of `path` to `topic`; returns how many were sent."""
    pacer = Pacer(rate)
    sent = 0
    for raw in read_records(path):
        pacer.wait()
        producer.send(topic, value=raw, key=message_key(raw))
        sent += 1
        if on_sent:
            on_sent(1)
    producer.flush()
    return sent
