"""A running `finmon worker` serves Prometheus metrics and /healthz over real HTTP, and logs JSON lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.app.embedded import free_port
from monitor.app.settings import Settings, to_env
from monitor.store.es import make_client
from monitor.stream.kafka import ensure_topics, make_producer

pytestmark = pytest.mark.integration

GOOD, BAD = 40, 2


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def worker(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    if "osmem" in request.node.callspec.id:
        pytest.skip("metrics do not depend on the Elasticsearch server: run once, on noida")
    ensure_topics(settings.kafka)
    port = free_port()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        **to_env(settings),
        "FINMON_METRICS__PORT": str(port),
        "FINMON_LOG_FORMAT": "json",
        "FINMON_LOG_LEVEL": "INFO",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.app.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    yield f"http://127.0.0.1:{port}", log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def indexed(settings: Settings) -> int:
    client = make_client(settings.es)
    try:
        if not client.indices.exists(index=settings.es.news_index):
            return 0
        client.indices.refresh(index=settings.es.news_index)
        return int(client.count(index=settings.es.news_index)["count"])
    finally:
        client.close()


def sample(text: str, name: str) -> float:
    """The value of one series line (`name` includes its labels), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_worker_metrics_after_processing(settings: Settings, worker: tuple[str, Path]) -> None:
    url, log = worker
    wait_for(lambda: get(url + "/healthz") == (200, "ok\n"), 120, "the worker's /healthz", log)
    producer = make_producer(settings.kafka)
    for i in range(GOOD):
        item = {"title": f"Acme shares fall {i} after a profit warning", "url": f"https://e.example/m/{i}"}
        producer.send(settings.kafka.raw_topic, json.dumps(item).encode())
    for _ in range(BAD):
        producer.send(settings.kafka.raw_topic, b'{"title": "broken')
    producer.flush()
    producer.close()
    wait_for(lambda: indexed(settings) == GOOD, 120, "the news to be indexed", log)

    def counted() -> bool:
        return sample(get(url + "/metrics")[1], "finmon_worker_documents_in_total") == GOOD + BAD

    wait_for(counted, 30, "the batch to be counted", log)
    status, text = get(url + "/metrics")
    assert status == 200
    assert sample(text, "finmon_worker_documents_out_total") == GOOD
    assert sample(text, 'finmon_worker_dead_letters_total{stage="decode"}') == BAD
    assert sample(text, "finmon_worker_batch_size_count") >= 1
    assert sample(text, "finmon_worker_batch_size_sum") == GOOD + BAD
    assert sample(text, "finmon_scoring_seconds_count") >= 1 and sample(text, "finmon_scoring_seconds_sum") > 0
    assert sample(text, "finmon_es_bulk_requests_total") >= 1
    assert "finmon_es_retries_total 0.0" in text and "# TYPE finmon_es_bulk_errors_total counter" in text
    assert sample(text, 'finmon_up{component="worker"}') == 1
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert any(
        "metrics on http://127.0.0.1" in r["message"] and r["logger"] == "monitor.app.metrics_server" for r in records
    )
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)


def test_alert_evaluator_metrics(settings: Settings, request: pytest.FixtureRequest) -> None:
    """One evaluation and its counters, scraped from the metrics server `finmon alerts` runs."""
    from monitor.app.alerting import build_alert_service
    from monitor.app.metrics import Metrics
    from monitor.app.metrics_server import serving

    metrics = Metrics()
    service = build_alert_service(settings, metrics=metrics)
    try:
        service.evaluate()
        service.deliver()
        with serving(settings.metrics, metrics, "alerts", lambda: True) as server:
            assert server is not None
            status, text = get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        service.stop()
    assert status == 200
    assert sample(text, 'finmon_alert_evaluations_total{outcome="ok"}') == 1
    assert sample(text, 'finmon_alert_notifications_total{outcome="delivered"}') == 0
    assert "# TYPE finmon_alert_events_total counter" in text
