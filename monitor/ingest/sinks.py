"""Where NewsItems go: Kafka (keyed by id, acks=all, flushed per poll) or a JSONL file for dry runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from monitor.news.schemas import NewsItem


class Sink(Protocol):
    def emit(self, items: list[NewsItem]) -> None:
        """Deliver the items durably or raise; the scraper marks them seen only after this returns."""

    def close(self) -> None: ...


class KafkaSink:
    """Sends items to a topic and waits for every acknowledgement, so a returned emit() is durable; owns the
    producer (closed with the sink)."""

    def __init__(self, producer: Any, topic: str, timeout: float = 30.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout

    def emit(self, items: list[NewsItem]) -> None:
        futures = [self.producer.send(self.topic, key=i.id.encode(), value=i.to_json()) for i in items]
        self.producer.flush(timeout=self.timeout)
        for future in futures:
            future.get(timeout=self.timeout)  # raises the send error, if any

    def close(self) -> None:
        self.producer.flush(timeout=self.timeout)
        self.producer.close(timeout=self.timeout)


class JsonlSink:
    """Writes one NewsItem JSON per line (the file is replaced when the sink opens)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("wb")
        self._lock = threading.Lock()

    def emit(self, items: list[NewsItem]) -> None:
        with self._lock:
            for item in items:
                self._file.write(item.to_json() + b"\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
