"""The worker's Faust app: broker and credentials, a monitor sensor without per-event bookkeeping, and the
acknowledgement hand-off that keeps Faust from committing a batch before finmon has finished it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from faust.sensors import Monitor
from faust.types import TP, EventT

from monitor.stage_settings import KafkaSettings
from monitor.stream.kafka import security


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


def make_app(kafka: KafkaSettings, batch_size: int, data_dir: Path) -> faust.App:
    """The Faust app of the worker: raw keys and values, finmon's own monitor sensor, no web view."""
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
        broker_max_poll_records=max(500, batch_size),
        stream_buffer_maxsize=max(4096, 4 * batch_size),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        web_enabled=False,
        stream_wait_empty=False,  # a batch waiting on Elasticsearch must not block shutdown: it is redelivered
        autodiscover=False,
        datadir=str(data_dir / "faust"),
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
