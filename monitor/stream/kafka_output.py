"""The worker's Kafka output: a batch's dead letters to news.dlq and its scored news to news.scored.

Every record is handed to the producer with its partition already computed (Kafka's default partitioner for
its key, for the whole batch at once: the producer's own murmur2 is pure Python), then awaited together, so
the producer groups them into one request per partition. news.scored is at-least-once: after a crash a
consumer can see a news item twice, keyed by its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from monitor.news.schemas import ScoredNews
from monitor.stage_settings import KafkaSettings
from monitor.stream.dead_letters import Source, dlq_record
from monitor.stream.partitioning import partitions_for
from monitor.stream.processing import BatchResult

log = logging.getLogger(__name__)

# bytes kept free for record framing under the producer's request size when deciding whether a news.scored
# record is sent at all (a dead letter, which is cut to fit instead, keeps dead_letters.DLQ_FRAMING_MARGIN)
SCORED_FRAMING_MARGIN = 4096


class Message(Protocol):
    """Where a consumed message came from (Faust's `Message` has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


class KafkaNewsOutput:
    """Publishes what a batch produced. `producer` gives the running app's producer (an aiokafka-style
    `send(topic, key, value, partition, timestamp, headers)` coroutine returning a future); `partitions`:
    the partition ids of news.scored and news.dlq, where known."""

    def __init__(
        self,
        producer: Callable[[], Any],
        kafka: KafkaSettings,
        partitions: dict[str, list[int]] | None = None,
        *,
        forward_scored: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.producer, self.kafka, self.clock = producer, kafka, clock
        self.partitions = partitions or {}
        self.forward_scored = forward_scored

    async def write(self, result: BatchResult, messages: Sequence[Message]) -> None:
        """Dead letters and (when forwarding) scored news, sent together and awaited as a whole."""
        pending = [*await self._dead_letters(result, messages), *await self._scored(result)]
        await asyncio.gather(*pending)

    async def _dead_letters(self, result: BatchResult, messages: Sequence[Message]) -> list[Any]:
        if not result.dead:
            return []
        topic, limit = self.kafka.dlq_topic, self.kafka.producer_max_request_size
        now = self.clock().isoformat()
        keys = [messages[dead.index].key for dead in result.dead]
        sent = []
        for dead, partition in zip(result.dead, self._partitions(topic, keys), strict=True):
            message = messages[dead.index]
            source = Source(message.topic, message.partition, message.offset)
            record = dlq_record(dead.raw, message.key, dead.stage, dead.reason, source, now, limit)
            log.warning("dead-lettered offset %s: %s", message.offset, dead.reason[:300])
            sent.append(await self.producer().send(topic, record.key, record.value, partition, None, record.headers))
        return sent

    async def _scored(self, result: BatchResult) -> list[Any]:
        if not self.forward_scored or not result.scored:
            return []
        topic = self.kafka.scored_topic
        keys = [news.doc.id.encode() for news in result.scored]
        sent = []
        for news, key, partition in zip(result.scored, keys, self._partitions(topic, keys), strict=True):
            value = news.json  # the bytes Elasticsearch got (less `event_at`), serialised once
            if oversized(news.doc, value, self.kafka.producer_max_request_size):
                log.warning(
                    "news %s indexed but not forwarded: %d bytes is over the request size", news.doc.id, len(value)
                )
                continue
            sent.append(await self.producer().send(topic, key, value, partition, None, None))
        return sent

    def _partitions(self, topic: str, keys: Sequence[bytes | None]) -> list[int | None]:
        """Kafka's default partition for each key; None, the producer's choice, for a record without a key or
        a topic whose partitions are not known."""
        partitions = self.partitions.get(topic)
        if not partitions:
            return [None] * len(keys)
        keyed = [key for key in keys if key is not None]
        chosen = iter(partitions_for(keyed, partitions))
        return [next(chosen) if key is not None else None for key in keys]


def oversized(doc: ScoredNews, value: bytes, limit: int) -> bool:
    """A scored record the producer would refuse (text full of escaped control characters, say)."""
    return len(value) + len(doc.id) + SCORED_FRAMING_MARGIN > limit
