"""Helpers the tests share: waiting on a condition, `finmon` in a child process with only the settings a test
gives, and small readers of the real servers (HTTP, Kafka, Elasticsearch)."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from monitor.news.schemas import ScoredNews, SentimentProbs
from monitor.stage_settings import ElasticsearchSettings, KafkaSettings
from monitor.store.es import make_client
from monitor.stream.kafka import client_options

ENV_PREFIX = "FINMON_"
FINMON = [sys.executable, "-m", "monitor.app.cli"]
SAMPLE_HEADLINES = [  # as they come: capitals, punctuation, a link; each within one 32-token window
    "Fed cut rates and stocks rise",
    "oil price falls as growth slows https://t.co/x",
    "apple earnings beat, record revenue",
    "bank shares plunge after sec probe",
    "gold prices up on inflation report",
    "tesla ceo resigns; shares drop",
    "dollar down against the euro and the market falls",
    "nvidia stock jumps to record high",
]


class FakeClock:
    """A monotonic clock in seconds that the test advances by moving `now`."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    """Poll `predicate` until it holds; after `timeout` seconds fail naming `what`, with the tail of `log`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{tail}")
        time.sleep(0.2)


def finmon_names() -> list[str]:
    """The FINMON_* variables of this process's environment."""
    return [name for name in os.environ if name.startswith(ENV_PREFIX)]


def child_env(*maps: Mapping[str, str], **variables: str) -> dict[str, str]:
    """This environment without its FINMON_* variables, then `maps` and `variables` in turn (later ones win):
    a child process sees only the settings the test gives it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
    for more in (*maps, variables):
        env.update(more)
    return env


def start_finmon(args: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`finmon ARGS` as an operator runs it: a child process in its own session, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*FINMON, *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Send `sig` to the process's group and wait; SIGKILL the group when it has not ended within `timeout`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


@contextlib.contextmanager
def running_worker(
    env: Mapping[str, str], log: Path, stop_signal: int = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    """`finmon worker` for the length of the block, stopped with `stop_signal` (then SIGKILL) at its end."""
    process = start_finmon(["worker"], env, log)
    try:
        yield process
    finally:
        stop_process(process, stop_signal)


def http_get(url: str) -> tuple[int, str]:
    """Status and body of a GET; (0, "") while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def health_status(host: str, port: int, timeout: float = 5.0) -> int:
    """The HTTP status of a finmon process's /healthz (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def indexed(es: ElasticsearchSettings) -> int:
    """Documents searchable in the news index (0 before it exists)."""
    client = make_client(es)
    try:
        if not client.indices.exists(index=es.news_index):
            return 0
        client.indices.refresh(index=es.news_index)
        return int(client.count(index=es.news_index)["count"])
    finally:
        client.close()


def read_records(
    kafka: KafkaSettings, topic: str, expected: int, timeout: float, **options: Any
) -> list[ConsumerRecord]:
    """Records of `topic` from its start, until `expected` have come or `timeout` seconds have passed."""
    consumer = KafkaConsumer(topic, auto_offset_reset="earliest", **options, **client_options(kafka))
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records += [record for batch in consumer.poll(1000).values() for record in batch]
    finally:
        consumer.close()
    return records


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def scored_news(
    doc_id: str,
    title: str,
    at: datetime,
    topic: str,
    sentiment: str,
    probs: SentimentProbs,
    *,
    tickers: Sequence[str] = (),
    url: str | None = None,
    source: str = "wire",
    model_name: str = "tiny",
) -> ScoredNews:
    """A scored news item as the worker indexes it, published and scored at `at`, with known labels."""
    return ScoredNews(
        id=doc_id,
        url=url,
        source=source,
        title=title,
        published_at=at,
        language="en",
        tickers=list(tickers),
        topic=topic,
        topic_confidence=0.9,
        sentiment=sentiment,
        sentiment_probs=probs,
        sentiment_score=round(probs.positive - probs.negative, 6),
        model_name=model_name,
        model_version="1",
        scored_at=at,
    )
