"""The worker end to end on the real broker (Tansu) and both Elasticsearch-API servers."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord

from monitor.app.embedded import ES_SERVERS, free_port
from monitor.app.settings import Settings, to_env
from monitor.store.es import make_client
from monitor.store.mappings import NEWS_MAPPING
from monitor.stream.kafka import client_options, ensure_topics, make_producer
from monitor.stream.replay import replay
from monitor.stream.worker import LAG_CHECK_INTERVAL
from tests.helpers import child_env, health_status, indexed, read_records, start_finmon, stop_process, wait_for
from tests.support import poison

pytestmark = pytest.mark.integration

TOTAL, BAD = 500, 20
MALFORMED = [
    b'{"title": "Broken JSON',
    b"[1, 2, 3]",
    b'{"url": "https://e.example/no-title"}',
    b'{"title": "Bad date", "published_at": "next tuesday"}',
    b"\xff\xfe not utf-8",
]


def write_feed(path: Path) -> Path:
    """500 lines: 480 distinct valid items and 20 malformed ones spread through the file."""
    lines = []
    for i in range(TOTAL):
        if i % (TOTAL // BAD) == 7:
            lines.append(MALFORMED[len(lines) % len(MALFORMED)])
        else:
            item = {
                "title": f"Acme shares move {i} after quarterly earnings",
                "url": f"https://e.example/n/{i}",
                "source": "wire",
                "published_at": "2026-11-20T10:00:00Z",
                "tickers": ["ACME"],
            }
            lines.append(json.dumps(item).encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class Worker:
    """`finmon worker` as a child process, as an operator runs it."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        self.process = start_finmon(["worker"], child_env(to_env(settings), FINMON_LOG_LEVEL="INFO"), log)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        stop_process(self.process, sig)


@pytest.fixture
def worker_factory(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    ensure_topics(settings.kafka)
    started: list[Worker] = []

    def start() -> Worker:
        started.append(Worker(settings, tmp_path / "worker.log"))
        return started[-1]

    yield start
    for worker in started:
        worker.kill(signal.SIGTERM)


def committed(settings: Settings) -> int:
    """Messages the worker's group has committed, summed over partitions (no end_offsets: see INFRA.md)."""
    admin = KafkaAdminClient(**client_options(settings.kafka))
    try:
        group = settings.kafka.consumer_group
        offsets = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == settings.kafka.raw_topic and meta.offset > 0)


def dead_letters(settings: Settings, expected: int) -> list[ConsumerRecord]:
    return read_records(settings.kafka, settings.kafka.dlq_topic, expected, 30)


def send_file(settings: Settings, path: Path, rate: float | None = None) -> int:
    producer = make_producer(settings.kafka)
    try:
        return replay(path, producer, settings.kafka.raw_topic, rate=rate)
    finally:
        producer.close()


def test_malformed_messages_go_to_the_dlq_and_a_replay_changes_nothing(
    settings: Settings, worker_factory: Callable[[], Worker], tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed.jsonl")
    worker = worker_factory()
    assert send_file(settings, feed) == TOTAL
    wait_for(lambda: indexed(settings.es) == TOTAL - BAD, 120, "480 indexed documents", worker.log)

    records = dead_letters(settings, BAD)
    assert len(records) == BAD
    bad_lines = [line for line in feed.read_bytes().split(b"\n") if line in MALFORMED]
    assert sorted(r.value for r in records) == sorted(bad_lines)
    for record in records:
        headers = dict(record.headers)
        assert headers["finmon.error.reason"] and headers["finmon.error.stage"] in (b"decode", b"validate")
        assert headers["finmon.source.topic"] == settings.kafka.raw_topic.encode()

    wait_for(lambda: committed(settings) == TOTAL, 60, "the first 500 offsets committed", worker.log)
    send_file(settings, feed)
    wait_for(lambda: committed(settings) == 2 * TOTAL, 120, "the replay consumed and committed", worker.log)
    assert indexed(settings.es) == TOTAL - BAD
    assert len(dead_letters(settings, 2 * BAD)) == 2 * BAD


def test_sigkill_mid_stream_then_restart_indexes_every_document_exactly_once(
    settings: Settings, worker_factory: Callable[[], Worker], tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed.jsonl")
    settings.model.max_batch = settings.worker.batch_size = 8
    first = worker_factory()
    sender = threading.Thread(target=send_file, args=(settings, feed, 250.0))
    sender.start()
    wait_for(lambda: indexed(settings.es) >= 60, 120, "the first documents", first.log)
    first.kill(signal.SIGKILL)
    killed_at = indexed(settings.es)
    sender.join()
    assert killed_at < TOTAL - BAD, "the worker finished before it could be killed mid-stream"

    second = worker_factory()
    wait_for(lambda: indexed(settings.es) == TOTAL - BAD, 120, "all documents after the restart", second.log)
    wait_for(lambda: committed(settings) == TOTAL, 60, "all offsets committed", second.log)
    client = make_client(settings.es)
    hits = client.search(index=settings.es.news_index, size=TOTAL, version=True, query={"match_all": {}})["hits"][
        "hits"
    ]
    assert len({hit["_id"] for hit in hits}) == TOTAL - BAD
    assert {hit["_version"] for hit in hits} == {1}  # `create` never rewrote a document


def test_nothing_is_acknowledged_while_elasticsearch_is_down(
    settings: Settings, worker_factory: Callable[[], Worker], tmp_path: Path, server_workdir: Path
) -> None:
    """The worker retries with backoff; offsets stay uncommitted until the documents are indexed."""
    port = free_port()
    settings.es = settings.es.model_copy(update={"urls": [f"http://127.0.0.1:{port}"]})
    settings.worker.es_retry_max_backoff = 1.0
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(json.dumps({"title": f"Bonds rally {i}", "url": f"https://e.example/b/{i}"}) + "\n" for i in range(50))
    )
    send_file(settings, feed)
    worker = worker_factory()
    wait_for(
        lambda: worker.log.exists() and "Elasticsearch unavailable" in worker.log.read_text(),
        90,
        "the worker to find Elasticsearch down",
        worker.log,
    )
    assert committed(settings) == 0

    kind = "osmem" if settings.es.plain_json else "noida"
    server = ES_SERVERS[kind](server_workdir, port=port)
    try:
        wait_for(lambda: indexed(settings.es) == 50, 90, "the documents once Elasticsearch is up", worker.log)
        wait_for(lambda: committed(settings) == 50, 60, "the offsets committed after indexing", worker.log)
    finally:
        server.stop()


def produce(settings: Settings, messages: list[poison.Message]) -> None:
    """Send values, keys and headers as they are (records up to 10 MB: Tansu takes them)."""
    producer = make_producer(settings.kafka, max_request_size=16 * 1024 * 1024, enable_idempotence=False)
    try:
        for message in messages:
            producer.send(settings.kafka.raw_topic, value=message.value, key=message.key, headers=message.headers)
        producer.flush(60)
    finally:
        producer.close()


def dlq_digests(settings: Settings, expected: int) -> tuple[Counter[str], list[dict[str, bytes]]]:
    """sha256 of each dead letter's original value (its `sha256` header when it was truncated), and headers."""
    big = {"max_partition_fetch_bytes": 16 * 1024 * 1024, "fetch_max_bytes": 32 * 1024 * 1024}
    records = read_records(settings.kafka, settings.kafka.dlq_topic, expected, 60, **big)
    headers = [dict(r.headers) for r in records]
    digests = Counter(
        h["sha256"].decode() if "sha256" in h else hashlib.sha256(r.value or b"").hexdigest()
        for r, h in zip(records, headers, strict=True)
    )
    return digests, headers


def test_a_hostile_mix_loses_no_news_and_dead_letters_every_poison(
    settings: Settings, worker_factory: Callable[[], Worker], unique: str
) -> None:
    """500 good news + quirky good ones, ~50 poison messages of every kind (nested, huge, not UTF-8, wrong
    types, NaN, surrogates, control characters, duplicate keys, odd keys and headers, a document the index
    refuses): every good one indexed once, every poison on news.dlq with a reason, offsets committed to the
    end, the worker alive and healthy."""
    client = make_client(settings.es)
    client.indices.create(index=settings.es.news_index, mappings=poison.strict_date_mapping(NEWS_MAPPING))
    settings.es.lifecycle = "plain"
    settings.metrics.port = free_port()
    settings.worker.stall_timeout = 5.0  # idle with nothing to read must stay healthy past it
    good = poison.good_news(unique, 500) + poison.quirky_good_news(unique)
    bad = [*poison.poison(unique), poison.es_rejected(unique)]
    worker = worker_factory()
    produce(settings, poison.mix(good, bad, seed=11))

    wait_for(lambda: indexed(settings.es) == len(good), 180, "every good news indexed", worker.log)
    digests, headers = dlq_digests(settings, len(bad))
    assert digests == Counter(hashlib.sha256(m.value or b"").hexdigest() for m in bad)
    assert all(h["finmon.error.reason"] and h["finmon.error.stage"] for h in headers)
    truncated = [h for h in headers if "original-size" in h]
    assert truncated and all(b"truncated" in h["finmon.error.reason"] for h in truncated)
    wait_for(lambda: committed(settings) == len(good) + len(bad), 60, "every offset committed", worker.log)

    hits = client.search(index=settings.es.news_index, size=len(good) + 10, version=True)["hits"]["hits"]
    assert len(hits) == len(good) and {hit["_version"] for hit in hits} == {1}
    assert worker.process.poll() is None
    for _ in range(int(3 * LAG_CHECK_INTERVAL)):  # a few lag readings after the stall timeout, idle
        assert health_status("127.0.0.1", settings.metrics.port) == 200
        time.sleep(1)


FAILING_PUBLISH = """
import sys
from monitor.stream import kafka_output

async def write(self, result, messages):
    raise RuntimeError("the broker refused the batch")

kafka_output.KafkaNewsOutput.write = write
from monitor.app.cli import main
sys.exit(main(["worker"]))
"""


def test_a_failing_batch_stops_the_worker_with_status_1_and_a_restart_indexes_it(
    settings: Settings, worker_factory: Callable[[], Worker], tmp_path: Path
) -> None:
    """A failure the batch cannot absorb (here every publish raises) ends the process, not just the agent,
    with exit status 1 and no offset committed; the restarted worker indexes everything."""
    feed = write_feed(tmp_path / "feed.jsonl")
    send_file(settings, feed)
    log = tmp_path / "failing.log"
    env = child_env(to_env(settings), FINMON_WORKER__SHUTDOWN_TIMEOUT="15")
    with log.open("wb") as out:
        failing = subprocess.Popen(
            [sys.executable, "-c", FAILING_PUBLISH], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        assert failing.wait(120) == 1, log.read_text()[-3000:]
    finally:
        failing.kill()
    assert "worker failed, stopping with exit status 1" in log.read_text()
    assert committed(settings) == 0

    worker = worker_factory()
    wait_for(lambda: indexed(settings.es) == TOTAL - BAD, 120, "every document after the restart", worker.log)
    wait_for(lambda: committed(settings) == TOTAL, 60, "every offset committed", worker.log)
