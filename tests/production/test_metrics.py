"""The metrics server (/metrics, /healthz), the scraper's series and JSON log lines, without servers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from monitor.app.logs import JsonFormatter
from monitor.ingest.counters import ScrapeStats
from monitor.stage_settings import MetricsSettings
from monitor.telemetry.endpoint import serve_metrics
from monitor.telemetry.series import Metrics
from tests.helpers import http_get


def test_scraper_series_and_health_over_http() -> None:
    stats = ScrapeStats()
    stats.add("wire", entries=5, emitted=3, duplicates=2)
    polled_at = datetime.now(UTC)
    stats.polled("wire", polled_at)
    stats.failed("other", "timeout", "read timed out")
    metrics = Metrics()
    metrics.observe_scrape(stats.snapshot)
    healthy = [True]
    with serve_metrics(MetricsSettings(port=0), metrics, "scraper", lambda: healthy[0]) as server:
        assert server is not None and server.port > 0
        base = f"http://127.0.0.1:{server.port}"
        status, text = http_get(base + "/metrics")
        assert http_get(base + "/healthz") == (200, "ok\n")
        healthy[0] = False
        assert http_get(base + "/healthz") == (503, "unhealthy\n")
        assert 'finmon_healthy{component="scraper"} 0.0' in http_get(base + "/metrics")[1]
    assert status == 200
    assert 'finmon_healthy{component="scraper"} 1.0' in text
    assert 'finmon_scrape_feed_polls_total{feed="wire",outcome="ok"} 1.0' in text
    assert 'finmon_scrape_feed_polls_total{feed="other",outcome="failed"} 1.0' in text
    (last_ok,) = [line for line in text.splitlines() if line.startswith("finmon_scrape_feed_last_success")]
    assert last_ok.startswith('finmon_scrape_feed_last_success_timestamp_seconds{feed="wire"} ')
    assert float(last_ok.rsplit(" ", 1)[1]) == polled_at.timestamp()
    assert 'finmon_scrape_items_total{kind="emitted"} 3.0' in text
    assert 'finmon_scrape_polls_total{outcome="failed"} 1.0' in text
    assert 'finmon_scrape_polls_total{outcome="ok"} 1.0' in text
    assert "finmon_scrape_documents_out_total 3.0" in text
    assert 'finmon_up{component="scraper"} 1.0' in text


def test_disabled_metrics_serve_nothing() -> None:
    with serve_metrics(MetricsSettings(enabled=False), Metrics(), "worker") as server:
        assert server is None


def test_two_processes_worth_of_metrics_do_not_share_counters() -> None:
    a, b = Metrics(), Metrics()
    a.documents_in.inc(3)
    assert b.documents_in._value.get() == 0


def test_json_log_lines_carry_extra_fields_and_exceptions() -> None:
    record = logging.LogRecord("finmon.x", logging.ERROR, __file__, 1, "batch of %d", (4,), None)
    record.partition = 2
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "batch of 4" and line["level"] == "ERROR" and line["logger"] == "finmon.x"
    assert line["partition"] == 2 and "ValueError: boom" in line["exception"]
    assert datetime.fromisoformat(line["ts"]).tzinfo is not None
