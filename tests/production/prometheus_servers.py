"""The real Prometheus and Alertmanager for the tests: started on free loopback ports with their data in a
temporary directory, ready when /-/ready answers 200; skipped, saying why, where the programs are absent."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.app.embedded import free_port
from tests.helpers import http_get, wait_for

DOCKER = Path(__file__).resolve().parents[2] / "docker"
INSTALL = "Debian: apt-get install -y prometheus prometheus-alertmanager; `make test` does it as root"


def program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"no {name} on PATH ({INSTALL})")
    return path


@dataclass
class Running:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read())


def shipped_alertmanager_config(receiver_url: str) -> dict[str, Any]:
    """docker/alertmanager/alertmanager.yml with every receiver pointed at `receiver_url` and the group timings
    of a test (seconds instead of minutes)."""
    config = yaml.safe_load((DOCKER / "alertmanager" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = receiver_url
    for route in [config["route"], *config["route"].get("routes", [])]:
        route.update({"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"})
    return config


@contextlib.contextmanager
def running(argv: list[str], port: int, workdir: Path, name: str) -> Iterator[Running]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    server = Running(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: http_get(server.url + "/-/ready")[0] == 200, 30, f"{name} to be ready", log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def alertmanager(config: dict[str, Any], workdir: Path) -> Iterator[Running]:
    binary = program("prometheus-alertmanager")
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        binary,
        f"--config.file={path}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip: a single test instance
    ]
    with running(argv, port, workdir, "alertmanager") as server:
        yield server


@contextlib.contextmanager
def prometheus(config: dict[str, Any], workdir: Path, *flags: str) -> Iterator[Running]:
    binary = program("prometheus")
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        binary,
        f"--config.file={path}",
        f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *flags,
    ]
    with running(argv, port, workdir, "prometheus") as server:
        yield server


def amtool(alertmanager_url: str, *args: str) -> str:
    result = subprocess.run(
        [program("amtool"), f"--alertmanager.url={alertmanager_url}", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()
