"""The health strip's figures from finmon's Prometheus series (pure), and its view over real registries."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from monitor.dashboard.health_strip import SourceResult, parse_exposition, summary
from monitor.dashboard.health_view import HealthView, Remote, from_worker_log
from monitor.telemetry.series import Metrics

NOW = 1_800_000_000.0


def items(answer: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {item["name"]: (item["state"], item["text"]) for item in answer["items"]}


def exposition(text: str, name: str = "worker") -> SourceResult:
    return SourceResult(name, parse_exposition(text))


WORKER = f"""
finmon_up{{component="worker"}} 1
finmon_healthy{{component="worker"}} 1
finmon_worker_consumer_lag 12
finmon_worker_last_batch_timestamp_seconds {NOW - 5}
finmon_worker_dead_letters_total{{stage="decode"}} 3
finmon_worker_dead_letters_total{{stage="score"}} 1
finmon_worker_documents_in_total 400
"""


def test_nothing_read_is_unknown_never_zero() -> None:
    got = items(summary([SourceResult("worker", error="connection refused")], NOW))
    assert {state for state, _ in got.values()} == {"unknown"}
    assert got["lag"][1] == "unknown (no worker metrics read)"
    answer = summary([SourceResult("worker", error="connection refused")], NOW)
    assert answer["sources"] == [{"name": "worker", "ok": False, "error": "connection refused"}]


def test_a_working_worker() -> None:
    got = items(summary([exposition(WORKER)], NOW))
    assert got["workers"] == ("ok", "1 of 1 up")
    assert got["lag"] == ("ok", "12 messages waiting; last batch 5 s ago")
    assert got["dead letters"] == ("ok", "4 (1.0% of 400 in)")
    clean = items(summary([exposition(WORKER.replace("dead_letters_total", "other_total"))], NOW))
    assert clean["dead letters"] == ("ok", "0 (0.0% of 400 in)")  # no stage counted yet: none, as the worker says


def test_a_stalled_worker_and_a_dead_letter_flood() -> None:
    text = WORKER.replace("consumer_lag 12", "consumer_lag 5000").replace(f"{NOW - 5}", f"{NOW - 600}")
    text = text.replace('healthy{component="worker"} 1', 'healthy{component="worker"} 0')
    text = text.replace("in_total 400", "in_total 40")
    got = items(summary([exposition(text)], NOW))
    assert got["workers"] == ("bad", "1 of 1 up, 1 unhealthy (failed or stalled)")
    assert got["lag"] == ("bad", "5000 messages waiting; last batch 10 min ago")
    assert got["dead letters"][0] == "warn"


def test_feeds_failing_and_deliveries_backing_up() -> None:
    text = f"""
finmon_scrape_feed_polls_total{{feed="good",outcome="ok"}} 10
finmon_scrape_feed_polls_total{{feed="good",outcome="failed"}} 1
finmon_scrape_feed_polls_total{{feed="bad",outcome="ok"}} 2
finmon_scrape_feed_polls_total{{feed="bad",outcome="failed"}} 9
finmon_scrape_feed_polls_total{{feed="never",outcome="failed"}} 3
finmon_scrape_feed_last_success_timestamp_seconds{{feed="good"}} {NOW - 60}
finmon_scrape_feed_last_success_timestamp_seconds{{feed="bad"}} {NOW - 7200}
finmon_alert_last_evaluation_timestamp_seconds {NOW - 20}
finmon_alert_outbox_pending{{kind="alertmanager_api"}} 7
finmon_alert_deliveries_total{{kind="alertmanager_api",outcome="retrying"}} 4
finmon_alert_deliveries_total{{kind="alertmanager",outcome="delivered"}} 2
"""
    answer = summary([exposition(text, "finmon up")], NOW)
    got = items(answer)
    assert got["feeds"] == ("bad", "1 of 3 ok; failing: bad, never")
    feeds = next(item for item in answer["items"] if item["name"] == "feeds")
    assert feeds["details"] == ["bad: last success 2.0 h ago", "never: last success never"]
    assert got["alert evaluation"] == ("ok", "last run 20 s ago")
    assert got["deliveries"] == ("warn", "7 waiting, 0 failed")
    assert got["workers"][0] == "unknown"  # no worker source: not assumed down, not assumed up


def test_an_evaluator_that_fell_behind() -> None:
    got = items(summary([exposition(f"finmon_alert_last_evaluation_timestamp_seconds {NOW - 900}\n")], NOW))
    assert got["alert evaluation"] == ("bad", "last run 15 min ago")
    not_yet = items(summary([exposition("finmon_alert_last_evaluation_timestamp_seconds 0\n")], NOW))
    assert not_yet["alert evaluation"] == ("unknown", "not run yet")
    assert not_yet["deliveries"] == ("ok", "none sent (no receiver has had an alert)")  # an evaluator, no receivers


@pytest.mark.parametrize("text", ["{{{", 'x{a="1" 1', 'x{a="1"} notanumber', "\x00\x01", 'x{="1"} 1'])
def test_a_garbled_exposition_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_exposition(text)


def test_the_view_reads_a_real_registry_and_the_worker_log(tmp_path: Any) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.alerts.backlog.labels("webhook").set(2)
    metrics.up.labels("up").set(1)
    log = tmp_path / "worker.log"
    log.write_text("old\nworker metrics on http://127.0.0.1:1/metrics (health: /healthz)\n")
    assert from_worker_log(log)() == "http://127.0.0.1:1/metrics"
    assert from_worker_log(tmp_path / "absent.log")() is None
    view = HealthView(registry, [Remote("worker", from_worker_log(log))], wall=lambda: NOW)
    answer = view.answer()
    assert items(answer)["deliveries"][0] == "warn"
    assert answer["sources"][0] == {"name": "finmon up", "ok": True}
    assert answer["sources"][1]["name"] == "worker (http://127.0.0.1:1/metrics)" and not answer["sources"][1]["ok"]
    assert generate_latest(registry)  # the registry still serves /metrics as before
