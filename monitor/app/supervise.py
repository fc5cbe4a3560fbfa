"""What `finmon up` runs beside itself and stops with it: the worker child process, the feed replay thread
and the dead-letter counter (`finmon bench pipeline` runs the worker the same way)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer

from monitor.app.demo import ReplayClock, published_times
from monitor.app.embedded import die_with_parent
from monitor.app.settings import Settings, to_env
from monitor.stream.kafka import client_options, make_producer
from monitor.stream.replay import replay

log = logging.getLogger(__name__)


@contextlib.contextmanager
def worker_process(settings: Settings, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`finmon worker` as a child process with the same settings; stopped with SIGTERM (then SIGKILL)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **to_env(settings)}
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.app.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def child_metrics(settings: Settings) -> Settings:
    """The worker child's settings: its metrics on the next port (or a free one), not on finmon up's."""
    port = settings.metrics.port + 1 if settings.metrics.port else 0
    return settings.model_copy(update={"metrics": settings.metrics.model_copy(update={"port": port})})


class DeadLetterCounter:
    """Counts records on the DLQ topic in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.count = 0
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            settings.kafka.dlq_topic, auto_offset_reset="earliest", **client_options(settings.kafka)
        )
        self._thread = threading.Thread(target=self._run, name="finmon-dlq-counter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.count += sum(len(batch) for batch in self._consumer.poll(500).values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


@dataclass
class Feeding:
    """A replay in a background thread and how many records it has sent so far."""

    thread: threading.Thread | None = None
    sent: int = 0

    def done(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


def start_feed(settings: Settings, path: Path, rate: float, clock: ReplayClock | None = None) -> Feeding:
    """Replay `path` onto the raw topic at `rate` records/s in a thread; the clock hears each record sent."""
    times = published_times(path) if clock is not None else []
    feeding = Feeding()

    def on_sent(count: int) -> None:
        feeding.sent += count
        for _ in range(count):
            if clock is not None and times:
                clock.sent(times.pop(0))

    def run() -> None:
        producer = make_producer(settings.kafka)
        try:
            sent = replay(path, producer, settings.kafka.raw_topic, rate=rate, on_sent=on_sent)
            log.info("replayed %d items from %s", sent, path)
        finally:
            producer.close()

    feeding.thread = threading.Thread(target=run, name="finmon-replay", daemon=True)
    feeding.thread.start()
    return feeding
