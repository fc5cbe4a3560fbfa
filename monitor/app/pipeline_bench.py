"""`finmon bench pipeline`: the scorer alone vs the whole path (replay → Kafka → worker → scorer → ES), one run."""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaAdminClient
from rich.console import Console
from rich.table import Table

from monitor.app.servers import running_services
from monitor.app.settings import Settings
from monitor.app.supervise import worker_process
from monitor.app.training_cli import load_texts
from monitor.contracts import BatchScorer
from monitor.scoring.backends import load_scorer
from monitor.stage_settings import ModelSettings
from monitor.store.es import make_client
from monitor.stream.kafka import admin_client, ensure_topics, make_producer
from monitor.stream.replay import replay

log = logging.getLogger(__name__)

# The zero-cost line sends the texts this many times (distinct ids): at thousands of docs/s, 2,000 messages
# would measure mostly the last batch's wait (model.max_wait) instead of the path's capacity.
ZERO_COST_REPEAT = 5
POLL_SECONDS = 0.2


def scorer_alone(scorer: BatchScorer, texts: list[str], batch: int) -> float:
    """Docs/s of the scorer on the batches a worker hands it: `batch` texts (FINMON_WORKER__BATCH_SIZE) per
    call in arrival order, which the scorer length-sorts into micro-batches of max_batch. Calls of max_batch
    texts would pad more and understate the scorer (by 1.4x for the shipped model)."""
    scorer.score(texts[:batch])  # warm-up, as the worker is warm
    began = time.perf_counter()
    for start in range(0, len(texts), batch):
        scorer.score(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - began)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll every POLL_SECONDS."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


def committed_messages(admin: KafkaAdminClient, settings: Settings) -> int:
    """Messages of the raw topic the worker's group has committed (a fresh topic: offsets start at 0)."""
    group = settings.kafka.consumer_group
    offsets = admin.list_group_offsets(group).get(group, {})
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == settings.kafka.raw_topic and meta.offset > 0)


def whole_path(settings: Settings, texts: list[str], workdir: Path) -> float:
    """Docs/s from the first message produced to the last one committed, with a warm worker.

    The worker commits a message only once it is indexed (or dead-lettered), so the end is read from the
    broker: polling the index with a refresh every POLL_SECONDS doubled the Elasticsearch-API server's CPU
    per document (noida) and slowed the path it measures. The count is checked once at the end."""
    client = make_client(settings.es)
    index = settings.es.news_index

    def indexed() -> int:
        if not client.indices.exists(index=index):
            return 0
        client.indices.refresh(index=index)
        return int(client.count(index=index)["count"])

    feed = workdir / "bench.jsonl"
    run = uuid.uuid4().hex[:8]
    feed.write_text(
        "".join(json.dumps({"title": t, "url": f"https://bench.example/{run}/{i}"}) + "\n" for i, t in enumerate(texts))
    )
    warmup = workdir / "warmup.jsonl"
    warmup.write_text(json.dumps({"title": "warm-up", "url": f"https://bench.example/{run}/warmup"}) + "\n")
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    admin = admin_client(settings.kafka)
    try:
        with worker_process(settings, workdir / "worker.log"):
            replay(warmup, producer, settings.kafka.raw_topic)
            _wait(lambda: committed_messages(admin, settings) == 1, 300, "the worker to start")
            began = time.perf_counter()
            replay(feed, producer, settings.kafka.raw_topic)
            total = len(texts) + 1
            _wait(lambda: committed_messages(admin, settings) == total, 600, "every message to be committed")
            elapsed = time.perf_counter() - began
        if (found := indexed()) != total:
            raise RuntimeError(f"benchmark: {found} documents indexed, {total} expected (see {workdir}/worker.log)")
        return len(texts) / elapsed
    finally:
        admin.close()
        producer.close()


def isolated(settings: Settings) -> Settings:
    """The same servers, with topics, consumer group and index of this run alone."""
    suffix = uuid.uuid4().hex[:8]
    kafka = settings.kafka.model_copy(
        update={
            "raw_topic": f"bench.raw.{suffix}",
            "scored_topic": f"bench.scored.{suffix}",
            "dlq_topic": f"bench.dlq.{suffix}",
            "consumer_group": f"bench-{suffix}",
        }
    )
    es = settings.es.model_copy(update={"news_index": f"finmon-bench-{suffix}"})
    return settings.model_copy(update={"kafka": kafka, "es": es})


def path_run(live: Settings, texts: list[str], model: ModelSettings) -> float:
    """Docs/s of the whole path with this model on fresh topics and a fresh index (deleted after)."""
    run = isolated(live).model_copy(update={"model": model})
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return whole_path(run, texts, Path(tmp))
        finally:
            make_client(run.es).indices.delete(index=run.es.news_index, ignore_unavailable=True)


def bench_pipeline(settings: Settings, *, texts_file: Path | None, limit: int, as_json: bool = False) -> int:
    """Scorer alone, the whole path with it, and the whole path with the zero-cost (fixed-label) scorer."""
    texts = load_texts(texts_file, limit)
    console = Console(stderr=as_json)
    model = settings.model
    console.print(
        f"texts: {len(texts)}; model: {model.path or 'default'} ({model.backend}); batch_size "
        f"{settings.worker.batch_size}, max_batch {model.max_batch}, max_wait {model.max_wait}s"
    )
    alone = scorer_alone(load_scorer(model), texts, settings.worker.batch_size)
    console.print(f"scorer alone: {alone:.1f} docs/s")
    with running_services(settings) as live:
        path = path_run(live, texts, model)
        console.print(f"whole path: {path:.1f} docs/s")
        zero = path_run(live, texts * ZERO_COST_REPEAT, model.model_copy(update={"backend": "fixed"}))
    figures = {
        "texts": len(texts),
        "model": model.path or "default",
        "backend": model.backend,
        "batch_size": settings.worker.batch_size,
        "max_batch": model.max_batch,
        "scorer_alone": round(alone, 1),
        "whole_path": round(path, 1),
        "ratio": round(path / alone, 3),
        "zero_cost_path": round(zero, 1),
        "zero_cost_messages": len(texts) * ZERO_COST_REPEAT,
    }
    table = Table(title="finmon bench pipeline")
    table.add_column("measure")
    table.add_column("docs/s", justify="right")
    table.add_row("scorer alone", f"{alone:.1f}")
    table.add_row("whole path (replay → Kafka → worker → scorer → Elasticsearch)", f"{path:.1f}")
    table.add_row(f"whole path, zero-cost scorer (fixed labels, texts × {ZERO_COST_REPEAT})", f"{zero:.1f}")
    table.add_row("ratio whole path / scorer alone", f"{path / alone:.3f}")
    console.print(table)
    if as_json:
        print(json.dumps(figures))  # the CLI's one machine-readable line, last on stdout
    return 0
