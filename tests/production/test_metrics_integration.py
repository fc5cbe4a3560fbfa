"""A running `finmon worker` serves Prometheus metrics and /healthz over real HTTP, and logs JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app.embedded import free_port
from monitor.app.settings import Settings, to_env
from monitor.stream.kafka import ensure_topics, make_producer
from tests.helpers import child_env, http_get, indexed, running_worker, wait_for

pytestmark = pytest.mark.integration

GOOD, BAD = 40, 2


@pytest.fixture
def worker(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    if "osmem" in request.node.callspec.id:
        pytest.skip("metrics do not depend on the Elasticsearch server: run once, on noida")
    ensure_topics(settings.kafka)
    port = free_port()
    log = tmp_path / "worker.log"
    env = child_env(to_env(settings), FINMON_METRICS__PORT=str(port), FINMON_LOG_FORMAT="json", FINMON_LOG_LEVEL="INFO")
    with running_worker(env, log):
        yield f"http://127.0.0.1:{port}", log


def sample(text: str, name: str) -> float:
    """The value of one series line (`name` includes its labels), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_worker_metrics_after_processing(settings: Settings, worker: tuple[str, Path]) -> None:
    url, log = worker
    wait_for(lambda: http_get(url + "/healthz") == (200, "ok\n"), 120, "the worker's /healthz", log)
    producer = make_producer(settings.kafka)
    for i in range(GOOD):
        item = {"title": f"Acme shares fall {i} after a profit warning", "url": f"https://e.example/m/{i}"}
        producer.send(settings.kafka.raw_topic, json.dumps(item).encode())
    for _ in range(BAD):
        producer.send(settings.kafka.raw_topic, b'{"title": "broken')
    producer.flush()
    producer.close()
    wait_for(lambda: indexed(settings.es) == GOOD, 120, "the news to be indexed", log)

    def counted() -> bool:
        return sample(http_get(url + "/metrics")[1], "finmon_worker_documents_in_total") == GOOD + BAD

    wait_for(counted, 30, "the batch to be counted", log)
    status, text = http_get(url + "/metrics")
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
        "metrics on http://127.0.0.1" in r["message"] and r["logger"] == "monitor.telemetry.endpoint" for r in records
    )
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)


def test_alert_evaluator_metrics(settings: Settings, request: pytest.FixtureRequest) -> None:
    """One evaluation and its counters, scraped from the metrics server `finmon alerts` runs."""
    from monitor.app.alerting import alert_service_for
    from monitor.telemetry.endpoint import serve_metrics
    from monitor.telemetry.series import Metrics

    metrics = Metrics()
    service = alert_service_for(settings, metrics=metrics)
    try:
        service.evaluate()
        service.deliver()
        with serve_metrics(settings.metrics, metrics, "alerts", lambda: True) as server:
            assert server is not None
            status, text = http_get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        service.stop()
    assert status == 200
    assert sample(text, 'finmon_alert_evaluations_total{outcome="ok"}') == 1
    assert sample(text, 'finmon_alert_notifications_total{outcome="delivered"}') == 0
    assert "# TYPE finmon_alert_events_total counter" in text
