"""Start-up against servers that are not there or never answer: one line naming the setting, bounded time,
and SIGTERM always ends the worker. Real sockets, `finmon` in subprocesses."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app.embedded import free_port
from monitor.stage_settings import KafkaSettings
from monitor.stream.kafka import ensure_topics, make_producer
from tests.helpers import FINMON, child_env, health_status, running_worker, wait_for


def finmon_env(**variables: str) -> dict[str, str]:
    return child_env({"FINMON_METRICS__ENABLED": "false"}, **variables)


def run_finmon(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str, float]:
    began = time.monotonic()
    done = subprocess.run([*FINMON, *args], env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stderr, time.monotonic() - began


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[int, threading.Event]]:
    """A port that accepts connections and never answers; the event is set at the first connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    connected = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])
                connected.set()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], connected
    finally:
        listener.close()
        for conn in held:
            conn.close()


def test_a_misspelt_variable_stops_the_worker_at_start_naming_the_real_one() -> None:
    code, stderr, _ = run_finmon(["worker"], finmon_env(FINMON_KAFKA_BOOTSTRAP_SERVERS="k:9092"))
    assert code == 2
    assert stderr.strip() == (
        "finmon: unknown setting FINMON_KAFKA_BOOTSTRAP_SERVERS (did you mean FINMON_KAFKA__BOOTSTRAP_SERVERS?): "
        "no setting has this name"
    )


def test_unreachable_kafka_is_one_line_naming_the_setting_within_the_connect_timeout(tiny_model_dir: Path) -> None:
    port = free_port()
    env = finmon_env(
        FINMON_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        FINMON_KAFKA__CONNECT_TIMEOUT="2",
        FINMON_ES__URLS=f"http://127.0.0.1:{free_port()}",
        FINMON_MODEL__PATH=str(tiny_model_dir),
        FINMON_LOG_LEVEL="ERROR",
    )
    code, stderr, _ = run_finmon(["worker"], env)
    assert code == 1 and "Traceback" not in stderr
    reason = f"finmon: FINMON_KAFKA__BOOTSTRAP_SERVERS: cannot reach Kafka at 127.0.0.1:{port} within 2 s"
    assert last_line(stderr).startswith(reason)


def test_alerts_with_elasticsearch_refused_is_one_line_naming_the_setting() -> None:
    port = free_port()
    env = finmon_env(FINMON_ES__URLS=f"http://127.0.0.1:{port}", FINMON_LOG_LEVEL="ERROR")
    code, stderr, _ = run_finmon(["alerts"], env)
    assert code == 1 and "Traceback" not in stderr
    assert last_line(stderr).startswith(
        f"finmon: FINMON_ES__URLS: cannot reach Elasticsearch at http://127.0.0.1:{port}"
    )


def test_a_missing_ssl_ca_file_is_named_not_blamed_on_the_brokers() -> None:
    env = finmon_env(FINMON_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:1", FINMON_KAFKA__SSL_CAFILE="/nowhere/ca.pem")
    code, stderr, _ = run_finmon(["worker"], env)
    assert code == 2 and "Traceback" not in stderr
    assert "FINMON_KAFKA__SSL_CAFILE" in stderr and "/nowhere/ca.pem" in stderr
    assert "BOOTSTRAP_SERVERS" not in stderr and "CONNECT_TIMEOUT" not in stderr


def test_an_unknown_elasticsearch_client_option_is_one_line_naming_the_setting() -> None:
    env = finmon_env(
        FINMON_ES__URLS=f"http://127.0.0.1:{free_port()}", FINMON_ES__CLIENT_OPTIONS='{"request_timout": 3}'
    )
    code, stderr, _ = run_finmon(["alerts"], env)
    assert code == 2 and "Traceback" not in stderr
    assert last_line(stderr) == (
        "finmon: FINMON_ES__CLIENT_OPTIONS: not a keyword of the Elasticsearch client: "
        "'request_timout' (did you mean 'request_timeout'?)"
    )


@pytest.mark.integration
def test_a_metrics_port_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """`finmon alerts` on its embedded Elasticsearch-API server, with the metrics port taken."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_env(FINMON_METRICS__PORT=str(port), FINMON_DATA_DIR=str(tmp_path))
        code, stderr, _ = run_finmon(["alerts"], env)
    assert code == 2 and "Traceback" not in stderr
    assert last_line(stderr).startswith(f"finmon: FINMON_METRICS__PORT: cannot listen on 127.0.0.1:{port}")


def test_a_dashboard_port_in_use_is_one_line_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = finmon_env(FINMON_DASHBOARD__PORT=str(port), FINMON_ES__URLS=f"http://127.0.0.1:{free_port()}")
        code, stderr, _ = run_finmon(["dashboard"], env)
    assert code == 2 and "Traceback" not in stderr
    assert last_line(stderr).startswith(f"finmon: FINMON_DASHBOARD__PORT: cannot listen on 127.0.0.1:{port}")


@contextlib.contextmanager
def worker_on_silent_es(
    kafka_bootstrap: str, model: Path, log: Path, **variables: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, threading.Event]]:
    """`finmon worker` on the real broker and an Elasticsearch that never answers; killed at the end."""
    with silent_server() as (port, connected):
        env = finmon_env(
            FINMON_KAFKA__BOOTSTRAP_SERVERS=kafka_bootstrap,
            FINMON_ES__URLS=f"http://127.0.0.1:{port}",
            FINMON_MODEL__PATH=str(model),
            FINMON_DATA_DIR=str(log.parent / "data"),
            **variables,
        )
        with running_worker(env, log, stop_signal=signal.SIGKILL) as process:
            yield process, port, connected


@pytest.mark.integration
def test_an_elasticsearch_that_never_answers_costs_the_connect_timeout_and_sigterm_ends_the_worker(
    kafka_bootstrap: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    variables = {"FINMON_ES__CONNECT_TIMEOUT": "1", "FINMON_WORKER__SHUTDOWN_TIMEOUT": "10"}
    with worker_on_silent_es(kafka_bootstrap, tiny_model_dir, log, **variables) as (process, port, connected):
        logged = "within 1 s (FINMON_ES__CONNECT_TIMEOUT)"
        wait_for(lambda: logged in log.read_text(), 90, "the worker to log the connect timeout", log)
        assert connected.is_set()
        lines = [line for line in log.read_text().splitlines() if "FINMON_ES__URLS" in line]
        assert len(lines) == 1 and f"http://127.0.0.1:{port}" in lines[0] and "retry" in lines[0]
        time.sleep(3)  # consuming now; the sink waits on the silent server
        process.send_signal(signal.SIGTERM)
        assert process.wait(25) in (0, 1)


@pytest.mark.integration
def test_sigterm_during_a_start_up_blocked_on_elasticsearch_ends_the_worker(
    kafka_bootstrap: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    variables = {"FINMON_ES__CONNECT_TIMEOUT": "300"}
    with worker_on_silent_es(kafka_bootstrap, tiny_model_dir, tmp_path / "w.log", **variables) as (process, _, up):
        assert up.wait(90), "the worker never reached Elasticsearch"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 130


@pytest.mark.integration
def test_healthz_turns_503_when_a_batch_stalls_past_the_stall_timeout(
    kafka_bootstrap: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Elasticsearch accepts connections and never answers: the first batch cannot finish."""
    topic = f"raw-stall-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap_servers=[kafka_bootstrap], raw_topic=topic)
    ensure_topics(kafka)
    producer = make_producer(kafka)
    producer.send(topic, json.dumps({"title": "Acme shares up", "url": "https://e.example/stall"}).encode())
    producer.close()
    port = free_port()
    variables = {
        "FINMON_KAFKA__RAW_TOPIC": topic,
        "FINMON_KAFKA__CONSUMER_GROUP": topic,
        "FINMON_ES__CONNECT_TIMEOUT": "1",
        "FINMON_WORKER__STALL_TIMEOUT": "3",
        "FINMON_METRICS__ENABLED": "true",
        "FINMON_METRICS__PORT": str(port),
    }
    seen: set[int] = set()

    def unhealthy() -> bool:
        seen.add(health_status("127.0.0.1", port))
        return 503 in seen

    log = tmp_path / "w.log"
    with worker_on_silent_es(kafka_bootstrap, tiny_model_dir, log, **variables):
        wait_for(unhealthy, 90, "/healthz to turn 503", log)
        assert 200 in seen
