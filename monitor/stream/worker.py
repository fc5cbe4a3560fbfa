"""`finmon worker`: the Faust stream worker. news.raw → batches → model → Elasticsearch, news.scored, news.dlq.

At-least-once with idempotent writes: a batch is acknowledged to Kafka only after every message in it is
indexed (or dead-lettered); a redelivered message hits `create` on an existing `_id` and changes nothing.
news.scored is at-least-once too: after a crash a consumer can see a news item twice, keyed by its id (on
the partition Kafka's default partitioner picks for that key).

Faust's per-event costs are kept low: events are taken in batches (`take_events`), Faust's own monitor
sensor keeps no per-event statistics (finmon's Prometheus metrics count batches), and the records of a batch
are handed to the producer with their partition already computed, then awaited together.

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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any

import faust
from elasticsearch import Elasticsearch
from faust.sensors import Monitor
from faust.types import TP, EventT

from monitor.app.settings import Settings
from monitor.contracts import BatchScorer, Prediction, Unreachable
from monitor.news.schemas import ScoredNews
from monitor.scoring.fixed_scorer import FixedScorer
from monitor.scoring.scorer import Scorer
from monitor.settings import KafkaSettings, ModelSettings
from monitor.store.es import EsNewsSink, make_client
from monitor.store.es_setup import ensure_setup, ensure_setup_at_start
from monitor.store.mappings import IndexSpec
from monitor.stream.dead_letters import Source, dlq_record
from monitor.stream.health import Progress
from monitor.stream.kafka import ensure_topics, security, topic_partitions
from monitor.stream.partitioning import partitions_for
from monitor.stream.processing import BatchProcessor, BatchResult, Decoded
from monitor.telemetry.endpoint import serving
from monitor.telemetry.series import Metrics

log = logging.getLogger(__name__)

LAG_CHECK_INTERVAL = 5.0  # seconds between lag readings for /healthz
RECORD_HEADROOM = 4096  # bytes of record framing kept free under the producer's request size


def faust_credentials(kafka: KafkaSettings) -> Any:
    """Faust's credentials object for the configured security options (None for PLAINTEXT)."""
    secure = security(kafka)
    if secure.sasl_mechanism:
        return faust.SASLCredentials(
            username=secure.sasl_username,
            password=secure.sasl_password,
            mechanism=secure.sasl_mechanism,
            ssl_context=secure.ssl_context,
        )
    return faust.SSLCredentials(secure.ssl_context) if secure.ssl_context else None


class BatchMonitor(Monitor):
    """Faust's monitor sensor without its per-event bookkeeping (timestamps, counters and dict updates for
    every message, event and send). finmon measures batches in its own metrics; Faust's web view, which
    would show these statistics, is off."""

    def on_message_in(self, tp: TP, offset: int, message: Any) -> None:
        pass

    def on_stream_event_in(self, tp: TP, offset: int, stream: Any, event: EventT) -> None:
        return None

    def on_stream_event_out(self, tp: TP, offset: int, stream: Any, event: EventT, state: Any = None) -> None:
        pass

    def on_message_out(self, tp: TP, offset: int, message: Any) -> None:
        pass

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        pass

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        pass


def make_app(settings: Settings) -> faust.App:
    kafka = settings.kafka
    return faust.App(
        kafka.consumer_group,
        broker=[f"kafka://{host}" for host in kafka.bootstrap_servers],
        broker_credentials=faust_credentials(kafka),
        key_serializer="raw",
        value_serializer="raw",
        broker_session_timeout=kafka.session_timeout,
        broker_heartbeat_interval=kafka.heartbeat_interval,
        broker_commit_interval=kafka.commit_interval,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=kafka.consumer_max_fetch_size,
        producer_max_request_size=kafka.producer_max_request_size,
        producer_max_batch_size=kafka.producer_max_request_size,  # one request per partition and batch
        broker_max_poll_records=max(500, settings.worker.batch_size),
        stream_buffer_maxsize=max(4096, 4 * settings.worker.batch_size),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        web_enabled=False,
        stream_wait_empty=False,  # a batch waiting on Elasticsearch must not block shutdown: it is redelivered
        autodiscover=False,
        datadir=str(settings.data_dir / "faust"),
        Monitor=BatchMonitor,
    )


def withhold_acks(events: Sequence[EventT]) -> None:
    """Make sure Faust never commits these events by itself: take_events acks in a `finally`, even when the
    batch is still being indexed (or was abandoned). Marking the message acked beforehand makes the
    consumer skip its commit bookkeeping; `release_acks` acknowledges them once they are done."""
    for event in events:
        event.message.acked = True


def release_acks(app: faust.App, events: Sequence[EventT]) -> None:
    """Acknowledge events whose messages are indexed or dead-lettered: their offsets may now commit."""
    consumer = app.consumer
    for event in events:
        event.message.acked = False
        consumer.ack(event.message)


class DaemonThread:
    """Runs submitted calls one after another in a daemon thread (order kept; never blocks process exit)."""

    def __init__(self, name: str) -> None:
        self._calls: SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = SimpleQueue()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> None:
        """Cancel what is queued and wait up to `timeout` for the running call: native code (torch, ONNX
        Runtime) still running in a thread while the interpreter finalises aborts the process."""
        self._closing = True
        self._calls.put(None)
        self._thread.join(timeout)

    def submit(self, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future: Future[Any] = Future()
        self._calls.put((future, func, args))
        return asyncio.wrap_future(future)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, func, args = call
            if self._closing:
                future.cancel()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func(*args))
            except BaseException as exc:
                future.set_exception(exc)


class TimedScorer:
    """A BatchScorer that records each batch's model time in the scoring latency histogram."""

    def __init__(self, scorer: BatchScorer, metrics: Metrics) -> None:
        self.scorer, self.metrics = scorer, metrics

    @property
    def name(self) -> str:
        return self.scorer.name

    @property
    def version(self) -> str:
        return self.scorer.version

    @property
    def model_hash(self) -> str:
        return self.scorer.model_hash

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        start = time.perf_counter()
        try:
            return self.scorer.score(texts)
        finally:
            self.metrics.scoring_seconds.observe(time.perf_counter() - start)


class NewsWorker:
    """Wires the Faust app to the batch processor and owns the threads that keep the event loop free."""

    def __init__(
        self,
        settings: Settings,
        processor: BatchProcessor,
        sink: EsNewsSink,
        metrics: Metrics | None = None,
        partitions: dict[str, list[int]] | None = None,
    ) -> None:
        self.settings = settings
        self.partitions = partitions or {}  # news.scored and news.dlq: their partition ids
        self.processor = processor
        self.sink = sink
        self.metrics = metrics or Metrics()
        self.progress = Progress(settings.worker.stall_timeout)
        self.stopping = False
        self.exit_code = 0
        self.app = make_app(settings)
        kafka = settings.kafka
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
        self.scoring.close(self.settings.worker.shutdown_timeout)
        self.indexing.close(1.0)

    def healthy(self) -> bool:
        return not self.stopping and self.progress.healthy()

    async def consume(self, stream: faust.StreamT) -> None:
        """Start each batch as it comes and let it finish in the background, at most
        `FINMON_WORKER__MAX_IN_FLIGHT` at a time. Nothing escapes: a failure stops the worker."""
        model, batch = self.settings.model, self.settings.worker.batch_size
        slots = asyncio.Semaphore(self.settings.worker.max_in_flight)
        try:
            async for events in stream.take_events(batch, within=model.max_wait):  # type: ignore[attr-defined]
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
            await self.publish(result, events)
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

    async def publish(self, result: BatchResult, events: Sequence[EventT]) -> None:
        """Dead letters and (optionally) scored news: every record handed to the producer, then awaited as a
        whole (the producer groups them into one request per partition)."""
        producer = self.app.producer
        kafka = self.settings.kafka
        pending = []
        if result.dead:
            now = datetime.now(UTC).isoformat()
            keys = [events[dead.index].message.key for dead in result.dead]
            for dead, partition in zip(result.dead, self._partitions(kafka.dlq_topic, keys), strict=True):
                message = events[dead.index].message
                source = Source(message.topic, message.partition, message.offset)
                record = dlq_record(
                    dead.raw, message.key, dead.stage, dead.reason, source, now, kafka.producer_max_request_size
                )
                log.warning("dead-lettered offset %s: %s", message.offset, dead.reason[:300])
                pending.append(
                    await producer.send(kafka.dlq_topic, record.key, record.value, partition, None, record.headers)
                )
        if self.settings.worker.forward_scored and result.scored:
            keys = [doc.id.encode() for doc in result.scored]
            targets = self._partitions(kafka.scored_topic, keys)
            for doc, key, partition in zip(result.scored, keys, targets, strict=True):
                value = doc.to_json()
                if oversized(doc, value, kafka.producer_max_request_size):
                    log.warning(
                        "news %s indexed but not forwarded: %d bytes is over the request size", doc.id, len(value)
                    )
                    continue
                pending.append(await producer.send(kafka.scored_topic, key, value, partition, None, None))
        await asyncio.gather(*pending)

    def _partitions(self, topic: str, keys: Sequence[bytes | None]) -> list[int | None]:
        """Kafka's default partition for each key, computed for the whole batch at once (the producer's own
        murmur2 is pure Python); None, the producer's choice, for a record without a key or a topic whose
        partitions are not known."""
        partitions = self.partitions.get(topic)
        if not partitions:
            return [None] * len(keys)
        keyed = [key for key in keys if key is not None]
        chosen = iter(partitions_for(keyed, partitions))
        return [next(chosen) if key is not None else None for key in keys]

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
        deadline = threading.Timer(self.settings.worker.shutdown_timeout, self._exit_now)
        deadline.daemon = True
        deadline.start()

    def _exit_now(self) -> None:
        log.error(
            "shutdown took over %.0f s (FINMON_WORKER__SHUTDOWN_TIMEOUT): exiting",
            self.settings.worker.shutdown_timeout,
        )
        logging.shutdown()
        os._exit(self.exit_code or 1)


def oversized(doc: ScoredNews, value: bytes, limit: int) -> bool:
    """A scored record the producer would refuse (text full of escaped control characters, say)."""
    return len(value) + len(doc.id) + RECORD_HEADROOM > limit


def load_scorer(model: ModelSettings) -> BatchScorer:
    """The configured model, or the fixed-label benchmark instrument (backend `fixed`)."""
    if model.backend == "fixed":
        log.warning("FINMON_MODEL__BACKEND=fixed: no model, every news item gets the same labels (benchmarks only)")
        return FixedScorer(model.max_batch)
    return Scorer.from_settings(model)


def prepare_index(client: Elasticsearch, settings: Settings, indices: Sequence[IndexSpec]) -> None:
    """Index setup at start, bounded by FINMON_ES__CONNECT_TIMEOUT per request; when Elasticsearch does not
    answer, say so in one line and leave setup to the sink, which retries before the first write."""
    try:
        # a mapping conflict stops the worker here, before it consumes
        ensure_setup_at_start(client, settings.es, indices)
    except Unreachable as exc:
        log.warning("%s; consuming anyway, writes retry until it answers (nothing is committed before)", exc)


def build_worker(settings: Settings, indices: Sequence[IndexSpec], metrics: Metrics | None = None) -> NewsWorker:
    """Load the model and prepare topics and the indices to set up (the app shell's: news and alerts) first,
    so a bad setting fails before consuming."""
    metrics = metrics or Metrics()
    scorer = TimedScorer(load_scorer(settings.model), metrics)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings.kafka)
    partitions = topic_partitions(settings.kafka, [settings.kafka.scored_topic, settings.kafka.dlq_topic])
    client = make_client(settings.es)
    prepare_index(client, settings, indices)
    sink = EsNewsSink(
        client,
        settings.es.news_index,
        max_backoff=settings.worker.es_retry_max_backoff,
        metrics=metrics.es,
        prepare=lambda: ensure_setup(client, settings.es, indices),
    )
    worker = NewsWorker(settings, BatchProcessor(scorer, sink), sink, metrics, partitions)
    # torch, transformers and the clients leave millions of long-lived objects: out of the collector's sight,
    # each full collection (frequent with a batch's thousands of short-lived objects) no longer walks them all
    gc.freeze()
    return worker


def run_worker(settings: Settings, indices: Sequence[IndexSpec]) -> int:
    """Run until SIGINT/SIGTERM (handled by Faust's worker, which stops the app cleanly), serving metrics
    and /healthz; returns the exit status: 1 when the worker stopped because it failed."""
    worker = build_worker(settings, indices)
    with serving(settings.metrics, worker.metrics, "worker", worker.healthy):
        try:
            faust.Worker(
                worker.app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False
            ).execute_from_commandline()
        except SystemExit as exc:
            if worker.exit_code == 0 and exc.code not in (None, 0):
                return int(exc.code) if isinstance(exc.code, int) else 1
        finally:
            worker.close()
    return worker.exit_code
