"""`finmon up`: the all-in-one monitor — servers (embedded unless configured), a worker, a feed, a live view."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from monitor.embedded import die_with_parent
from monitor.es import ensure_news_index, make_client
from monitor.kafka import client_options, ensure_topics, make_producer
from monitor.modeldir import ModelSpec, default_model_dir
from monitor.replay import replay
from monitor.services import running_services
from monitor.settings import Settings, to_env
from monitor.stats import Headline, RateMeter, Snapshot, TopicRow

log = logging.getLogger(__name__)


def demo_feed() -> Path:
    return Path(str(resources.files("monitor") / "demo" / "feed.jsonl"))


@contextlib.contextmanager
def worker_process(settings: Settings, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`finmon worker` as a child process with the same settings; stopped with SIGTERM (then SIGKILL)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **to_env(settings)}
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "worker"],
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


class Sampler:
    """Reads the news index and the DLQ count into a Snapshot."""

    def __init__(self, settings: Settings, client: Elasticsearch, dead_letters: DeadLetterCounter) -> None:
        self.index = settings.es.news_index
        self.client = client
        self.dead_letters = dead_letters
        self.rates = RateMeter()

    def snapshot(self) -> Snapshot:
        self.client.indices.refresh(index=self.index)
        response = self.client.search(
            index=self.index,
            size=8,
            sort=[{"scored_at": "desc"}],
            aggs=_aggregations(),
            source=["published_at", "sentiment", "topic", "title", "tickers"],
        )
        total = int(response["hits"]["total"]["value"])
        aggs = response["aggregations"]
        return Snapshot(
            indexed=total,
            rate=self.rates.push(time.monotonic(), total),
            dead_letters=self.dead_letters.count,
            topics=_rows(aggs["topics"]),
            tickers=_rows(aggs["tickers"]),
            latest=[_headline(hit["_source"]) for hit in response["hits"]["hits"]],
        )


def _aggregations() -> dict[str, Any]:
    negative = {"negative": {"filter": {"term": {"sentiment": "negative"}}}}
    return {
        "topics": {"terms": {"field": "topic", "size": 20}, "aggs": negative},
        "tickers": {"terms": {"field": "tickers", "size": 8}, "aggs": negative},
    }


def _rows(agg: dict[str, Any]) -> list[TopicRow]:
    return [TopicRow(b["key"], int(b["doc_count"]), int(b["negative"]["doc_count"])) for b in agg["buckets"]]


def _headline(source: dict[str, Any]) -> Headline:
    return Headline(
        str(source.get("published_at", ""))[11:16],
        source.get("sentiment", ""),
        source.get("topic", ""),
        source.get("title", ""),
        tuple(source.get("tickers", [])),
    )


def _feed(settings: Settings, path: Path, rate: float) -> threading.Thread:
    def run() -> None:
        producer = make_producer(settings.kafka)
        try:
            sent = replay(path, producer, settings.kafka.raw_topic, rate=rate)
            log.info("replayed %d items from %s", sent, path)
        finally:
            producer.close()

    thread = threading.Thread(target=run, name="finmon-replay", daemon=True)
    thread.start()
    return thread


def run_up(
    settings: Settings, *, demo: bool, replay_file: Path | None, rate: float, view: bool, duration: float | None
) -> int:
    from monitor.view import LiveView, LogView

    ModelSpec.load(Path(settings.model.path) if settings.model.path else default_model_dir())  # fail before starting
    with running_services(settings) as live:
        ensure_topics(live.kafka)
        client = make_client(live.es)
        ensure_news_index(client, live.es.news_index)
        worker_log = live.data_dir / "logs" / "worker.log"
        with worker_process(live, worker_log) as worker, contextlib.ExitStack() as stack:
            dead = DeadLetterCounter(live)
            stack.callback(dead.close)
            feed = replay_file or (demo_feed() if demo else None)
            if feed is not None:
                _feed(live, feed, rate)
            sampler = Sampler(live, client, dead)
            screen = LiveView(live, worker_log) if view else LogView()
            deadline = time.monotonic() + duration if duration else None
            with screen:
                while deadline is None or time.monotonic() < deadline:
                    if worker.poll() is not None:
                        log.error("the worker exited with %s; see %s", worker.returncode, worker_log)
                        return 1
                    screen.update(sampler.snapshot())
                    time.sleep(1.0)
    return 0
