"""`finmon worker`: the Faust stream worker. news.raw → batches → model → Elasticsearch, news.scored, news.dlq.

At-least-once with idempotent writes: a batch is acknowledged to Kafka only after every message in it is
indexed (or dead-lettered); a redelivered message hits `create` on an existing `_id` and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import faust
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from faust.types import EventT

from monitor.contracts import BatchScorer, Prediction
from monitor.es import EsNewsSink, make_client
from monitor.es_setup import ensure_setup
from monitor.kafka import ensure_topics
from monitor.metrics import Metrics
from monitor.metrics_server import serving
from monitor.processing import BatchProcessor, BatchResult, DeadLetter
from monitor.scorer import Scorer
from monitor.settings import KafkaSettings, Settings

log = logging.getLogger(__name__)


def faust_credentials(kafka: KafkaSettings) -> Any:
    """Faust's credentials object for the configured security protocol (None for PLAINTEXT)."""
    context = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
        if kafka.ssl_certfile:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None)
    if kafka.security_protocol.startswith("SASL"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        return faust.SASLCredentials(
            username=kafka.sasl_username, password=password, mechanism=kafka.sasl_mechanism, ssl_context=context
        )
    return faust.SSLCredentials(context) if context else None


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
        consumer_auto_offset_reset="earliest",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        web_enabled=False,
        stream_wait_empty=False,  # a batch waiting on Elasticsearch must not block shutdown: it is redelivered
        autodiscover=False,
        datadir=str(settings.data_dir / "faust"),
    )


def dlq_headers(dead: DeadLetter, event: EventT, now: datetime) -> list[tuple[str, bytes]]:
    message = event.message
    return [
        ("finmon.error.stage", dead.stage.encode()),
        ("finmon.error.reason", dead.reason.encode()),
        ("finmon.source.topic", message.topic.encode()),
        ("finmon.source.partition", str(message.partition).encode()),
        ("finmon.source.offset", str(message.offset).encode()),
        ("finmon.failed_at", now.isoformat().encode()),
    ]


def withhold_acks(events: Sequence[EventT]) -> None:
    """Make sure these events are never committed: Faust's take_events acks in a `finally`, even when the
    batch was abandoned (worker cancelled mid-batch). Marking the message acked beforehand makes the
    consumer skip its commit bookkeeping, so after a restart the batch is delivered again."""
    for event in events:
        event.message.acked = True


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


class NewsWorker:
    """Wires the Faust app to the batch processor and owns the threads that keep the event loop free."""

    def __init__(
        self, settings: Settings, processor: BatchProcessor, sink: EsNewsSink, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.processor = processor
        self.sink = sink
        self.metrics = metrics or sink.metrics
        self.stopping = False
        self.app = make_app(settings)
        kafka = settings.kafka
        self.raw_topic = self.app.topic(kafka.raw_topic, key_type=bytes, value_type=bytes)
        self.scored_topic = self.app.topic(kafka.scored_topic, key_type=bytes, value_type=bytes)
        self.dlq_topic = self.app.topic(kafka.dlq_topic, key_type=bytes, value_type=bytes)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finmon-score")
        self.processed = 0
        self.dead_lettered = 0
        self.app.agent(self.raw_topic, name="finmon.score", concurrency=1)(self.consume)
        self.app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]

    async def consume(self, stream: faust.StreamT) -> None:
        model = self.settings.model
        async for events in stream.take_events(model.max_batch, within=model.max_wait):  # type: ignore[attr-defined]
            try:
                await self.handle(events)
            except BaseException:
                withhold_acks(events)
                raise

    async def handle(self, events: Sequence[EventT]) -> None:
        raws = [event.message.value for event in events]
        loop = asyncio.get_running_loop()
        result: BatchResult = await loop.run_in_executor(self.executor, self.processor.process, raws)
        await self.publish(result, events)
        self.processed += len(result.scored)
        self.dead_lettered += len(result.dead)
        self._count(len(events), result)
        log.debug("batch of %d: %d scored, %d dead-lettered", len(events), len(result.scored), len(result.dead))

    def _count(self, consumed: int, result: BatchResult) -> None:
        self.metrics.documents_in.inc(consumed)
        self.metrics.batch_size.observe(consumed)
        self.metrics.documents_out.inc(len(result.scored))
        for dead in result.dead:
            self.metrics.dead_letters.labels(dead.stage).inc()

    async def publish(self, result: BatchResult, events: Sequence[EventT]) -> None:
        """Dead letters and (optionally) scored news, waiting until the broker has them all."""
        now = datetime.now(UTC)
        pending = []
        for dead in result.dead:
            event = events[dead.index]
            headers = dlq_headers(dead, event, now)
            log.warning("dead-lettered offset %s: %s", event.message.offset, dead.reason)
            pending.append(await self.dlq_topic.send(key=event.message.key, value=dead.raw, headers=headers))
        if self.settings.worker.forward_scored:
            for doc in result.scored:
                pending.append(await self.scored_topic.send(key=doc.id.encode(), value=doc.to_json()))
        await asyncio.gather(*pending)

    async def _on_shutdown(self, app: faust.App, **_: Any) -> None:
        self.stopping = True
        self.sink.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


def build_worker(settings: Settings, metrics: Metrics | None = None) -> NewsWorker:
    """Load the model and prepare topics and index first, so a bad setting fails before consuming."""
    metrics = metrics or Metrics()
    scorer = TimedScorer(Scorer.from_settings(settings.model), metrics)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings.kafka)
    client = make_client(settings.es)
    try:
        ensure_setup(client, settings.es)  # a mapping conflict stops the worker here, before it consumes
    except (TransportConnectionError, ConnectionTimeout):
        log.warning("Elasticsearch unavailable at start: index setup runs before the first write")
    sink = EsNewsSink(
        client,
        settings.es.news_index,
        max_backoff=settings.worker.es_retry_max_backoff,
        metrics=metrics,
        prepare=lambda: ensure_setup(client, settings.es),
    )
    return NewsWorker(settings, BatchProcessor(scorer, sink), sink, metrics)


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM (handled by Faust's worker, which stops the app cleanly), serving metrics."""
    worker = build_worker(settings)
    with serving(settings.metrics, worker.metrics, "worker", lambda: not worker.stopping):
        faust.Worker(
            worker.app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False
        ).execute_from_commandline()
