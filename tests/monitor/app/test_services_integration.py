"""Embedded servers are started for what a command uses: the alert evaluator gets Elasticsearch, never a broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from monitor.app.services import running_services
from monitor.app.settings import Settings

pytestmark = pytest.mark.integration


def child_commands() -> list[str]:
    """The command lines of this process's children (Linux /proc)."""
    pids = " ".join(p.read_text() for p in Path("/proc/self/task").glob("*/children")).split()
    return [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in pids]


def test_a_command_without_kafka_starts_only_the_elasticsearch_api_server(tmp_path: Path) -> None:
    with running_services(Settings(data_dir=tmp_path), kafka_needed=False) as live:
        assert live.kafka.embedded and live.kafka.bootstrap_servers == []
        assert Elasticsearch(live.es.urls[0]).info()["version"]["number"]
        children = child_commands()
    assert any("noida" in c for c in children) and not any("tansu" in c for c in children), children


def test_the_worker_gets_both(tmp_path: Path) -> None:
    with running_services(Settings(data_dir=tmp_path)) as live:
        assert live.kafka.bootstrap_servers
        assert any("tansu" in c for c in child_commands())
