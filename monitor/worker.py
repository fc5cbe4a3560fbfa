"""`finmon worker`: the stream worker. news.raw → batches → model → Elasticsearch, news.scored, news.dlq.

Consumes in bulk with aiokafka (`getmany`: a batch is one call, not one event at a time) in a consumer
group with manual commits. At-least-once with idempotent writes: a batch's offsets are committed only after
every message in it is indexed (or dead-lettered); a redelivered message hits `create` on an existing `_id`
and changes nothing. news.scored is at-least-once too: after a crash a consumer can see a news item twice,
keyed by its id (on the partition Kafka's default partitioner picks for that key).

Batches overlap: batch N+1 is decoded and scored in one thread while batch N is indexed in another and
published from the event loop; batches are committed in order, each once it and every batch before it are
done. Anything unexpected stops the worker with exit status 1 and no commit, so the orchestrator restarts
it and the batch is delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from elasticsearch import Elasticsearch

from monitor.commits import CommitQueue, Ticket
from monitor.contracts import BatchScorer, Prediction, Unreachable
from monitor.dead_letters import Source, dlq_record
from monitor.es import EsNewsSink, make_client
from monitor.es_setup import ensure_setup, ensure_setup_at_start
from monitor.fixed_scorer import FixedScorer
from monitor.health import Progress
from monitor.kafka import ensure_topics
from monitor.metrics import Metrics
from monitor.metrics_server import serving
from monitor.partitioning import partitions_for
from monitor.processing import BatchProcessor, BatchResult, Decoded
from monitor.schemas import ScoredNews
from monitor.scorer import Scorer
from monitor.settings import KafkaSettings, ModelSettings, Settings

log = logging.getLogger(__name__)

LAG_CHECK_INTERVAL = 5.0  # seconds between lag readings for /healthz
RECORD_HEADROOM = 4096  # bytes of record framing kept free under the producer's request size
IDLE_POLL = 1.0  # seconds one getmany waits when nothing is buffered


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured security protocol."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
        if kafka.ssl_certfile:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None)
        options["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
    return options


def make_consumer(kafka: KafkaSettings) -> AIOKafkaConsumer:
    """A group member with manual commits: the worker commits a batch once it is indexed or dead-lettered."""
    return AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=kafka.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(kafka.session_timeout * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_interval * 1000),
        max_partition_fetch_bytes=kafka.consumer_max_fetch_size,
        fetch_max_bytes=max(kafka.consumer_max_fetch_size, 52_428_800),
        **security_options(kafka),
    )


def make_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """Waits for all in-sync replicas; producer batches as large as one request."""
    return AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        acks="all",
        max_request_size=kafka.producer_max_request_size,
        max_batch_size=kafka.producer_max_request_size,
        **security_options(kafka),
    )


@dataclass(frozen=True)
class Batch:
    """Records taken together, and their place in the commit queue."""

    records: list[ConsumerRecord]
    ticket: Ticket[TopicPartition]


def take_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
    return offsets


class Outbox:
    """Records grouped into one producer batch per topic partition (no per-record `send`), then awaited."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.open: dict[tuple[str, int], Any] = {}
        self.sent: list[asyncio.Future[Any]] = []

    async def add(self, topic: str, partition: int, key: bytes | None, value: bytes, headers: Any) -> None:
        batch = self.open.get((topic, partition))
        if batch is None:
            batch = self.open[topic, partition] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:  # full
            self.sent.append(await self.producer.send_batch(batch, topic, partition=partition))
            batch = self.open[topic, partition] = self.producer.create_batch()
            batch.append(key=key, value=value, timestamp=None, headers=headers)  # a lone record always fits

    async def flush(self) -> None:
        for (topic, partition), batch in self.open.items():
            self.sent.append(await self.producer.send_batch(batch, topic, partition=partition))
        self.open = {}
        await asyncio.gather(*self.sent)


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

    def score(self, texts: Sequence[str]) -> list[Prediction]:
        start = time.perf_counter()
        try:
            return self.scorer.score(texts)
        finally:
            self.metrics.scoring_seconds.observe(time.perf_counter() - start)


class Rebalance(ConsumerRebalanceListener):
    """Before partitions go to another member: finish (briefly) and commit what this member holds."""

    def __init__(self, worker: NewsWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.worker.settle(self.worker.settings.worker.shutdown_timeout / 2)
        self.worker.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)) or "nothing")


class NewsWorker:
    """Wires Kafka to the batch processor and owns the threads that keep the event loop free."""

    def __init__(
        self, settings: Settings, processor: BatchProcessor, sink: EsNewsSink, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.processor = processor
        self.sink = sink
        self.metrics = metrics or sink.metrics
        self.progress = Progress(settings.worker.stall_timeout)
        self.stopping = False
        self.exit_code = 0
        self.scoring = DaemonThread("finmon-score")
        self.indexing = DaemonThread("finmon-index")
        self.processed = 0
        self.dead_lettered = 0
        self.last_offsets: dict[TopicPartition, int] = {}
        self.batches: set[asyncio.Future[None]] = set()
        self.commits: CommitQueue[TopicPartition] = CommitQueue()
        self.partitions: dict[str, list[int]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._commit_lock: asyncio.Lock | None = None
        self._consuming: asyncio.Task[None] | None = None

    def close(self) -> None:
        """After the loop stopped: let the scoring thread finish its batch; the indexing thread may be waiting
        on a silent cluster, so it gets a moment only."""
        self.scoring.close(self.settings.worker.shutdown_timeout)
        self.indexing.close(1.0)

    def healthy(self) -> bool:
        return not self.stopping and self.progress.healthy()

    async def run(self) -> int:
        """Consume until SIGINT/SIGTERM or a failure; returns the exit status (1 when the worker failed)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop)
        self._commit_lock = asyncio.Lock()
        kafka = self.settings.kafka
        self.consumer, self.producer = make_consumer(kafka), make_producer(kafka)
        lag = None
        try:
            await self._start_clients()
            lag = asyncio.ensure_future(self._observe_lag())
            if not self.stopping:
                self._consuming = asyncio.ensure_future(self.consume())
                with contextlib.suppress(asyncio.CancelledError):
                    await self._consuming
            await self.settle(min(5.0, self.settings.worker.shutdown_timeout / 2))
        finally:
            if lag is not None:
                lag.cancel()
            await self._stop_clients()
        return self.exit_code

    async def _start_clients(self) -> None:
        kafka = self.settings.kafka
        assert self.consumer is not None and self.producer is not None
        try:
            await asyncio.wait_for(self.producer.start(), kafka.connect_timeout)
            await asyncio.wait_for(self.consumer.start(), kafka.connect_timeout)
            for topic in (kafka.scored_topic, kafka.dlq_topic):
                self.partitions[topic] = sorted(await self.producer.partitions_for(topic))
        except (TimeoutError, KafkaError, OSError) as exc:
            raise Unreachable(
                f"FINMON_KAFKA__BOOTSTRAP_SERVERS: cannot reach Kafka at {','.join(kafka.bootstrap_servers)} "
                f"within {kafka.connect_timeout:g} s (FINMON_KAFKA__CONNECT_TIMEOUT): {type(exc).__name__}"
            ) from None
        self.consumer.subscribe([kafka.raw_topic], listener=Rebalance(self))

    async def _stop_clients(self) -> None:
        for client in (self.consumer, self.producer):
            if client is not None:
                try:
                    await asyncio.wait_for(client.stop(), 5.0)
                except Exception as exc:  # stopping anyway: nothing uncommitted is lost, it is redelivered
                    log.warning("stopping the Kafka client: %s", describe_error(exc))

    def stop(self) -> None:
        """SIGTERM/SIGINT or a failure: stop taking batches; the sink gives up retrying; a deadline caps it all."""
        if self.stopping:
            return
        self.stopping = True
        self.sink.stop()
        if self._consuming is not None:
            self._consuming.cancel()
        deadline = threading.Timer(self.settings.worker.shutdown_timeout, self._exit_now)
        deadline.daemon = True
        deadline.start()

    async def consume(self) -> None:
        """Start each batch as it comes and let it finish in the background, at most
        `FINMON_WORKER__MAX_IN_FLIGHT` at a time. Nothing escapes: a failure stops the worker."""
        slots = asyncio.Semaphore(self.settings.worker.max_in_flight)
        try:
            while not self.stopping:
                await slots.acquire()
                records = await self.take()
                if records:
                    self._start(records, slots)
                else:
                    slots.release()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)

    async def take(self) -> list[ConsumerRecord]:
        """Up to batch_size records: whatever is buffered at once, then more for at most model.max_wait."""
        assert self.consumer is not None
        wanted = self.settings.worker.batch_size
        loop = asyncio.get_running_loop()
        records: list[ConsumerRecord] = []
        deadline: float | None = None
        while len(records) < wanted:
            wait = IDLE_POLL if deadline is None else deadline - loop.time()
            if wait < 0:
                break
            got = await self.consumer.getmany(timeout_ms=int(wait * 1000), max_records=wanted - len(records))
            for part in got.values():
                records += part
            if not records:
                return records
            if deadline is None:
                deadline = loop.time() + self.settings.model.max_wait
        return records

    def _start(self, records: list[ConsumerRecord], slots: asyncio.Semaphore) -> None:
        offsets = take_offsets(records)
        for tp, offset in offsets.items():
            self.last_offsets[tp] = offset - 1
        batch = Batch(records, self.commits.take(offsets))
        self.progress.started()
        scoring = self.scoring.submit(self.processor.score, [record.value for record in records])
        task = asyncio.ensure_future(self._finish(batch, scoring))
        self.batches.add(task)
        task.add_done_callback(self.batches.discard)
        task.add_done_callback(lambda _: slots.release())

    async def _finish(self, batch: Batch, scoring: asyncio.Future[tuple[Decoded, list[ScoredNews]]]) -> None:
        """Index (in order, one thread), publish, then commit; a failure stops the worker uncommitted."""
        try:
            decoded, scored = await scoring
            result: BatchResult = await self.indexing.submit(self.processor.index, decoded, scored)
            await self.publish(result, batch.records)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)
            return
        self.commits.finish(batch.ticket)
        self.progress.finished()
        self.processed += len(result.scored)
        self.dead_lettered += len(result.dead)
        self._count(len(batch.records), result)
        log.debug("batch of %d: %d scored, %d dead-lettered", len(batch.records), len(result.scored), len(result.dead))
        await self.commit()

    async def commit(self) -> None:
        """Commit the offsets of the done batches at the head of the queue (never past one not done)."""
        assert self._commit_lock is not None and self.consumer is not None
        async with self._commit_lock:
            offsets = self.commits.to_commit(self.consumer.assignment())
            if not offsets:
                return
            try:
                await self.consumer.commit(offsets)
            except KafkaError as exc:  # a rebalance under way: the batch is redelivered, idempotently
                log.warning("commit failed (%s); those messages will be delivered again", describe_error(exc))
                return
            self.commits.acknowledged(offsets)

    async def settle(self, timeout: float) -> None:
        """Wait up to `timeout` for the batches in progress, then commit what is done."""
        if self.batches:
            await asyncio.wait(list(self.batches), timeout=timeout)
        if self.consumer is not None and self.progress.failure is None:
            await self.commit()

    def forget(self, revoked: Sequence[TopicPartition]) -> None:
        self.commits.forget(revoked)
        for tp in revoked:
            self.last_offsets.pop(tp, None)

    def _fail(self, exc: BaseException) -> None:
        """Stop with exit status 1; the failed batch is not committed (nor any after it), so it is redelivered."""
        if self.progress.failure is not None or self.stopping:
            return
        self.progress.failed(exc)
        self.exit_code = 1
        log.error("worker failed, stopping with exit status 1 (the batch will be redelivered)", exc_info=exc)
        self.stop()

    def _count(self, consumed: int, result: BatchResult) -> None:
        self.metrics.documents_in.inc(consumed)
        self.metrics.batch_size.observe(consumed)
        self.metrics.documents_out.inc(len(result.scored))
        for dead in result.dead:
            self.metrics.dead_letters.labels(dead.stage).inc()

    async def publish(self, result: BatchResult, records: Sequence[ConsumerRecord]) -> None:
        """Dead letters and (optionally) scored news, in producer batches sent together and waited for as a whole."""
        assert self.producer is not None
        kafka = self.settings.kafka
        outbox = Outbox(self.producer)
        if result.dead:
            now = datetime.now(UTC).isoformat()
            dead_keys = [records[dead.index].key for dead in result.dead]
            targets = self._partitions(kafka.dlq_topic, dead_keys)
            for dead, partition in zip(result.dead, targets, strict=True):
                record = records[dead.index]
                source = Source(record.topic, record.partition, record.offset)
                letter = dlq_record(
                    dead.raw, record.key, dead.stage, dead.reason, source, now, kafka.producer_max_request_size
                )
                log.warning("dead-lettered offset %s: %s", record.offset, dead.reason[:300])
                await outbox.add(kafka.dlq_topic, partition, letter.key, letter.value, letter.headers)
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
                await outbox.add(kafka.scored_topic, partition, key, value, [])
        await outbox.flush()

    def _partitions(self, topic: str, keys: Sequence[bytes | None]) -> list[int]:
        """Kafka's default partition for each key (a record without a key goes to the first partition)."""
        partitions = self.partitions[topic]
        keyed = [key for key in keys if key is not None]
        chosen = iter(partitions_for(keyed, partitions))
        return [next(chosen) if key is not None else partitions[0] for key in keys]

    async def _observe_lag(self) -> None:
        while True:
            await asyncio.sleep(LAG_CHECK_INTERVAL)
            assert self.consumer is not None
            lag = 0
            assigned = self.consumer.assignment()
            for tp, offset in list(self.last_offsets.items()):
                highwater = self.consumer.highwater(tp) if tp in assigned else None
                if highwater is None:
                    continue
                lag += max(0, highwater - offset - 1)
            self.progress.observe_lag(lag)

    def _exit_now(self) -> None:
        log.error(
            "shutdown took over %.0f s (FINMON_WORKER__SHUTDOWN_TIMEOUT): exiting",
            self.settings.worker.shutdown_timeout,
        )
        logging.shutdown()
        os._exit(self.exit_code or 1)


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def oversized(doc: ScoredNews, value: bytes, limit: int) -> bool:
    """A scored record the producer would refuse (text full of escaped control characters, say)."""
    return len(value) + len(doc.id) + RECORD_HEADROOM > limit


def load_scorer(model: ModelSettings) -> BatchScorer:
    """The configured model, or the fixed-label benchmark instrument (backend `fixed`)."""
    if model.backend == "fixed":
        log.warning("FINMON_MODEL__BACKEND=fixed: no model, every news item gets the same labels (benchmarks only)")
        return FixedScorer(model.max_batch)
    return Scorer.from_settings(model)


def prepare_index(client: Elasticsearch, settings: Settings) -> None:
    """Index setup at start, bounded by FINMON_ES__CONNECT_TIMEOUT per request; when Elasticsearch does not
    answer, say so in one line and leave setup to the sink, which retries before the first write."""
    try:
        ensure_setup_at_start(client, settings.es)  # a mapping conflict stops the worker here, before it consumes
    except Unreachable as exc:
        log.warning("%s; consuming anyway, writes retry until it answers (nothing is committed before)", exc)


def build_worker(settings: Settings, metrics: Metrics | None = None) -> NewsWorker:
    """Load the model and prepare topics and index first, so a bad setting fails before consuming."""
    metrics = metrics or Metrics()
    scorer = TimedScorer(load_scorer(settings.model), metrics)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings.kafka)
    client = make_client(settings.es)
    prepare_index(client, settings)
    sink = EsNewsSink(
        client,
        settings.es.news_index,
        max_backoff=settings.worker.es_retry_max_backoff,
        metrics=metrics,
        prepare=lambda: ensure_setup(client, settings.es),
    )
    worker = NewsWorker(settings, BatchProcessor(scorer, sink), sink, metrics)
    # torch, transformers and the clients leave millions of long-lived objects: out of the collector's sight,
    # each full collection (frequent with a batch's thousands of short-lived objects) no longer walks them all
    gc.freeze()
    return worker


def run_worker(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM, serving metrics and /healthz; returns the exit status: 1 when the worker
    stopped because it failed."""
    worker = build_worker(settings)
    with serving(settings.metrics, worker.metrics, "worker", worker.healthy):
        try:
            return asyncio.run(worker.run())
        finally:
            worker.close()
