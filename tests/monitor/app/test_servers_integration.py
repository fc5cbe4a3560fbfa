"""Embedded servers are started for what a command uses: the alert evaluator gets Elasticsearch, never a broker."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from monitor.app.servers import running_services
from monitor.app.settings import Settings

pytestmark = pytest.mark.integration


def child_commands() -> dict[str, str]:
    """pid -> command line of this process's living children (Linux /proc; a child of an earlier test may exit
    while it is read)."""
    pids: list[str] = []
    for children in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            pids += children.read_text().split()
    commands = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            commands[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return commands


def started_by(block_children: dict[str, str], before: dict[str, str]) -> list[str]:
    """What the block started: the session's own servers (shared fixtures) were there before it."""
    return [command for pid, command in block_children.items() if pid not in before]


def test_a_command_without_kafka_starts_only_the_elasticsearch_api_server(tmp_path: Path) -> None:
    before = child_commands()
    with running_services(Settings(data_dir=tmp_path), kafka_needed=False) as live:
        assert live.kafka.embedded and live.kafka.bootstrap_servers == []
        assert Elasticsearch(live.es.urls[0]).info()["version"]["number"]
        started = started_by(child_commands(), before)
    assert any("noida" in c for c in started) and not any("tansu" in c for c in started), started


def test_the_worker_gets_both(tmp_path: Path) -> None:
    before = child_commands()
    with running_services(Settings(data_dir=tmp_path)) as live:
        assert live.kafka.bootstrap_servers
        started = started_by(child_commands(), before)
    assert any("tansu" in c for c in started) and any("noida" in c for c in started), started
