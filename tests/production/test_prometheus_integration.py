"""A real Prometheus scraping a real `finmon worker` with the shipped rules fires the stalled-worker alert
into a real Alertmanager when the worker is SIGSTOPped, and the alert resolves after SIGCONT (intervals of a
second; the rule's `for` shortened, its expression as shipped). Skipped, saying why, without the programs."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.app.embedded import free_port
from monitor.app.settings import Settings, to_env
from monitor.stream.kafka import ensure_topics
from tests.alerts.webhook_receiver import start_receiver
from tests.helpers import child_env, http_get, running_worker, wait_for
from tests.production.prometheus_servers import (
    DOCKER,
    Running,
    alertmanager,
    program,
    prometheus,
    shipped_alertmanager_config,
)

pytestmark = pytest.mark.integration

RULE = "FinmonWorkerStalled"


def shortened_rules(workdir: Path) -> Path:
    """The shipped rules with the stalled-worker rule's `for` at 2 s (so the test takes seconds, not minutes)."""
    rules = yaml.safe_load((DOCKER / "prometheus" / "rules" / "finmon.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == RULE:
                rule["for"] = "2s"
    path = workdir / "finmon.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def prometheus_config(worker: str, am: Running, rules: Path) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am.url.removeprefix("http://")]}]}]},
        "scrape_configs": [{"job_name": "finmon-worker", "static_configs": [{"targets": [worker]}]}],
    }


def scraped(prom: Running) -> str:
    """The last `up` of the worker's target as Prometheus has it ("" before the first scrape)."""
    result = prom.get("/api/v1/query?query=up%7Bjob%3D%22finmon-worker%22%7D")["data"]["result"]
    return str(result[0]["value"][1]) if result else ""


def active(am: Running) -> list[dict[str, Any]]:
    return [a for a in am.get("/api/v2/alerts?active=true") if a["labels"]["alertname"] == RULE]


@pytest.fixture
def worker(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, int]]:
    if "osmem" in request.node.callspec.id:
        pytest.skip("does not depend on the Elasticsearch server: run once, on noida")
    program("prometheus")
    program("prometheus-alertmanager")
    ensure_topics(settings.kafka)
    port = free_port()
    log = tmp_path / "worker.log"
    env = child_env(to_env(settings), FINMON_METRICS__PORT=str(port))
    with running_worker(env, log) as process:
        wait_for(lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 120, "the worker's /healthz", log)
        try:
            yield f"127.0.0.1:{port}", log, process.pid
        finally:
            os.kill(process.pid, signal.SIGCONT)  # stoppable again


def test_a_stopped_worker_fires_the_stalled_alert_into_alertmanager_and_it_resolves(
    worker: tuple[str, Path, int], tmp_path: Path
) -> None:
    target, _, pid = worker
    receiver, server = start_receiver("/ops")
    try:
        with (
            alertmanager(shipped_alertmanager_config(receiver.url), tmp_path) as am,
            prometheus(
                prometheus_config(target, am, shortened_rules(tmp_path)), tmp_path, "--rules.alert.resend-delay=1s"
            ) as prom,
        ):
            wait_for(lambda: scraped(prom) == "1", 30, "Prometheus to scrape the worker", prom.log)
            assert active(am) == []
            os.kill(pid, signal.SIGSTOP)
            wait_for(lambda: len(active(am)) == 1, 60, f"{RULE} to fire into Alertmanager", prom.log)
            (alert,) = active(am)
            assert alert["labels"]["instance"] == target and alert["labels"]["severity"] == "critical"
            wait_for(lambda: any(r.json()["status"] == "firing" for r in receiver.requests), 30, "the operators' page")
            assert receiver.requests[0].json()["receiver"] == "operators"
            os.kill(pid, signal.SIGCONT)
            wait_for(lambda: active(am) == [], 60, f"{RULE} to resolve in Alertmanager", prom.log)
            wait_for(lambda: any(r.json()["status"] == "resolved" for r in receiver.requests), 30, "the resolution")
    finally:
        server.shutdown()
        server.server_close()
