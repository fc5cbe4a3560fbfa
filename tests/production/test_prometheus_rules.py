"""docker/prometheus and docker/alertmanager: the shipped rules pass `promtool check rules` and their unit tests
(`promtool test rules`), every rule has a test where it fires, every finmon series a rule reads is one finmon
exposes, and both configuration files are valid for the real programs (skipped, saying why, without them)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import yaml
from prometheus_client import generate_latest

from monitor.telemetry.series import Metrics
from tests.production.prometheus_servers import DOCKER, program

RULES = DOCKER / "prometheus" / "rules" / "finmon.rules.yml"
RULE_TESTS = DOCKER / "prometheus" / "rules" / "finmon.rules.test.yml"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=RULES.parent)


def rules() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_promtool_check_rules() -> None:
    result = run(program("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout + result.stderr


def test_promtool_unit_tests_of_every_rule() -> None:
    result = run(program("promtool"), "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_rule_has_a_unit_test_where_it_fires() -> None:
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    names = {str(rule["alert"]) for rule in rules()}
    assert names == firing, f"rules without a firing test: {names - firing}"
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical")  # type: ignore[index]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]  # type: ignore[index]


def test_every_finmon_series_in_the_rules_is_exposed_by_finmon() -> None:
    metrics = Metrics()
    feeds = {"a": {"polls": 2, "failures": 1, "last_ok": datetime(2024, 1, 1, tzinfo=UTC).isoformat()}}
    metrics.observe_scrape(lambda: {"counts": {"polls": 2}, "feeds": feeds})
    metrics.healthy.labels("worker").set(1)
    metrics.dead_letters.labels("parse").inc()
    metrics.alerts.deliveries.labels("slack", "delivered").inc()
    metrics.alerts.backlog.labels("slack").set(0)
    exposed = set(re.findall(r"^(finmon_\w+?)(?:\{| )", generate_latest(metrics.registry).decode(), re.M))
    used = set(re.findall(r"\bfinmon_\w+", " ".join(str(rule["expr"]) for rule in rules())))
    assert used and used <= exposed, f"not exposed by finmon: {used - exposed}"


def test_prometheus_config_is_valid() -> None:
    result = run(program("promtool"), "check", "config", "--syntax-only", str(DOCKER / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} >= {"finmon-worker", "finmon-scraper", "finmon-alerts"}
    assert config["rule_files"] == ["/etc/prometheus/rules/finmon.rules.yml"]


def test_alertmanager_config_is_valid_and_inhibits_topic_alerts_under_an_all_news_alert() -> None:
    path = DOCKER / "alertmanager" / "alertmanager.yml"
    result = run(program("amtool"), "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(path.read_text())
    assert {"alertname", "scope", "topic", "ticker"} <= set(config["route"]["group_by"])
    assert any(
        'scope="all"' in rule["source_matchers"] and 'scope="topic"' in rule["target_matchers"]
        for rule in config["inhibit_rules"]
    )
