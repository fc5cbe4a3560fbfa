"""The Faust stream worker and its wiring. news.raw → batches → model → Elasticsearch, news.scored, news.dlq.

At-least-once with idempotent writes: a batch is acknowledged to Kafka only after every message in it is
indexed (or dead-lettered); a redelivered message hits `create` on an existing `_id` and changes nothing.
news.scored is at-least-once too: after a crash a consumer can see a news item twice, keyed by its id (on
the partition Kafka's default partitioner picks for that key).

Faust's per-event costs are kept low: events are taken in batches (`take_events`), Faust's own monitor
sensor keeps no per-event statistics (`faust_app`; finmon's Prometheus metrics count batches), and a batch's
records go out through `kafka_output` with their partitions already computed.

Batches overlap: batch N+1 is decoded and scored in one thread while batch N is indexed in another and
published from the event loop; each batch is acknowledged on its own, once it is done (offsets commit
up to the first batch not yet done). Anything unexpected stops the worker with exit status 1 and no
acknowledgement, so the orchestrator restarts it and the batch is delivered again.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from faust.types import TP, EventT

from monitor.news.schemas import ScoredNews
from monitor.scoring.backends import load_scorer
from monitor.scoring.timed_scorer import TimedScorer
from monitor.stage_settings import ElasticsearchSettings, KafkaSettings, ModelSettings, WorkerSettings
from monitor.store.es import EsNewsSink, make_client
from monitor.store.es_setup import ensure_setup, prepare_index
from monitor.store.mappings import IndexSpec
from monitor.stream.faust_app import make_app, release_acks, withhold_acks
from monitor.stream.kafka import ensure_topics, topic_partitions
from monitor.stream.kafka_output import KafkaNewsOutput
from monitor.stream.processing import BatchProcessor, BatchResult, Decoded
from monitor.stream.progress import Progress
from monitor.stream.threads import DaemonThread
from monitor.telemetry.series import Metrics

log = logging.getLogger(__name__)

LAG_CHECK_INTERVAL = 5.0  # seconds between lag readings for /healthz


class NewsWorker:
    """Wires the Faust app to the batch processor and owns the threads that keep the event loop free."""

    def __init__(
        self,
        app: faust.App,
        kafka: KafkaSettings,
        worker: WorkerSettings,
        max_wait: float,
        processor: BatchProcessor,
        sink: EsNewsSink,
        output: KafkaNewsOutput,
        metrics: Metrics | None = None,
    ) -> None:
        self.worker, self.max_wait = worker, max_wait
        self.processor = processor
        self.sink = sink
        self.output = output
        self.metrics = metrics or Metrics()
        self.progress = Progress(worker.stall_timeout)
        self.stopping = False
        self.exit_code = 0
        self.app = app
        self.raw_topic = self.app.topic(kafka.raw_topic, key_type=bytes, value_type=bytes)
        self.scoring = DaemonThread("finmon-score")
        self.indexing = DaemonThread("finmon-index")
        self.last_offsets: dict[TP, int] = {}
        self.batches: set[asyncio.Future[None]] = set()
        self.app.agent(self.raw_topic, name="finmon.score", concurrency=1)(self.consume)
        self.app.timer(LAG_CHECK_INTERVAL)(self._observe_lag)
        self.app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]

    def close(self) -> None:
        """After the app stopped: let the scoring thread finish its batch; the indexing thread may be waiting
        on a silent cluster, so it gets a moment only."""
        self.scoring.close(self.worker.shutdown_timeout)
        self.indexing.close(1.0)

    def healthy(self) -> bool:
        return not self.stopping and self.progress.healthy()

    async def consume(self, stream: faust.StreamT) -> None:
        """Start each batch as it comes and let it finish in the background, at most
        `FINMON_WORKER__MAX_IN_FLIGHT` at a time. Nothing escapes: a failure stops the worker."""
        slots = asyncio.Semaphore(self.worker.max_in_flight)
        try:
            async for events in stream.take_events(self.worker.batch_size, within=self.max_wait):  # type: ignore[attr-defined]
                withhold_acks(events)
                await slots.acquire()
                self._start(events, slots)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)

    def _start(self, events: Sequence[EventT], slots: asyncio.Semaphore) -> None:
        for event in events:
            self.last_offsets[event.message.tp] = event.message.offset
        self.progress.started()
        scoring = self.scoring.submit(self.processor.score, [event.message.value for event in events])
        task = asyncio.ensure_future(self._finish(events, scoring))
        self.batches.add(task)
        task.add_done_callback(self.batches.discard)
        task.add_done_callback(lambda _: slots.release())

    async def _finish(
        self, events: Sequence[EventT], scoring: asyncio.Future[tuple[Decoded, list[ScoredNews]]]
    ) -> None:
        """Index (in order, one thread), publish, then acknowledge; a failure stops the worker unacknowledged."""
        try:
            decoded, scored = await scoring
            result: BatchResult = await self.indexing.submit(self.processor.index, decoded, scored)
            await self.output.write(result, [event.message for event in events])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)
            return
        release_acks(self.app, events)
        self.progress.finished()
        self._count(len(events), result)
        log.debug("batch of %d: %d scored, %d dead-lettered", len(events), len(result.scored), len(result.dead))

    def _fail(self, exc: BaseException) -> None:
        """Stop the process with exit status 1; the failed batch is not acknowledged, so it is redelivered."""
        if self.progress.failure is not None or self.stopping:
            return
        self.progress.failed(exc)
        self.exit_code = 1
        log.error("worker failed, stopping with exit status 1 (the batch will be redelivered)", exc_info=exc)
        os.kill(os.getpid(), signal.SIGTERM)  # Faust's own shutdown path, as an operator's SIGTERM

    def _count(self, consumed: int, result: BatchResult) -> None:
        self.metrics.documents_in.inc(consumed)
        self.metrics.batch_size.observe(consumed)
        self.metrics.documents_out.inc(len(result.scored))
        self.metrics.last_batch.set_to_current_time()
        for dead in result.dead:
            self.metrics.dead_letters.labels(dead.stage).inc()

    async def _observe_lag(self) -> None:
        consumer = self.app.consumer
        lag = 0
        for tp, offset in list(self.last_offsets.items()):
            try:
                lag += max(0, consumer.highwater(tp) - offset - 1)
            except Exception:  # not assigned any more
                self.last_offsets.pop(tp, None)
        self.progress.observe_lag(lag)
        self.metrics.consumer_lag.set(lag)

    async def _on_shutdown(self, app: faust.App, **_: Any) -> None:
        self.stopping = True
        self.sink.stop()
        deadline = threading.Timer(self.worker.shutdown_timeout, self._exit_now)
        deadline.daemon = True
        deadline.start()

    def _exit_now(self) -> None:
        log.error(
            "shutdown took over %.0f s (FINMON_WORKER__SHUTDOWN_TIMEOUT): exiting",
            self.worker.shutdown_timeout,
        )
        logging.shutdown()
        os._exit(self.exit_code or 1)


def build_worker(
    kafka: KafkaSettings,
    es: ElasticsearchSettings,
    model: ModelSettings,
    worker: WorkerSettings,
    *,
    data_dir: Path,
    indices: Sequence[IndexSpec],
    metrics: Metrics | None = None,
) -> NewsWorker:
    """Load the model and prepare topics and the indices to set up (the app shell's: news and alerts) first,
    so a bad setting fails before consuming."""
    metrics = metrics or Metrics()
    scorer = TimedScorer(load_scorer(model), metrics.scoring_seconds.observe)
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(kafka)
    partitions = topic_partitions(kafka, [kafka.scored_topic, kafka.dlq_topic])
    client = make_client(es)
    prepare_index(client, es, indices)
    sink = EsNewsSink(
        client,
        es.news_index,
        max_backoff=worker.es_retry_max_backoff,
        metrics=metrics.es,
        prepare=lambda: ensure_setup(client, es, indices),
    )
    app = make_app(kafka, worker.batch_size, data_dir)
    output = KafkaNewsOutput(lambda: app.producer, kafka, partitions, forward_scored=worker.forward_scored)
    news_worker = NewsWorker(app, kafka, worker, model.max_wait, BatchProcessor(scorer, sink), sink, output, metrics)
    # torch, transformers and the clients leave millions of long-lived objects: out of the collector's sight,
    # each full collection (frequent with a batch's thousands of short-lived objects) no longer walks them all
    gc.freeze()
    return news_worker


def run_worker(worker: NewsWorker, log_level: str) -> int:
    """Run until SIGINT/SIGTERM (handled by Faust's worker, which stops the app cleanly); returns the exit
    status: 1 when the worker stopped because it failed."""
    try:
        faust.Worker(worker.app, loglevel=log_level, quiet=True, redirect_stdouts=False).execute_from_commandline()
    except SystemExit as exc:
        if worker.exit_code == 0 and exc.code not in (None, 0):
            return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        worker.close()
    return worker.exit_code
