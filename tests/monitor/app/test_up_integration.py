"""`finmon up` as a user runs it: embedded servers, a worker and the demo feed; nothing left behind."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from monitor.dashboard.browser import find_chromium
from tests.helpers import child_env, start_finmon, wait_for
from tests.support.browser_pages import drawn_marks, dump_dom

pytestmark = pytest.mark.integration


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def start_up(tmp_path: Path, tiny_model_dir: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = child_env(
        FINMON_MODEL__PATH=str(tiny_model_dir), FINMON_DATA_DIR=str(tmp_path / "data"), FINMON_DASHBOARD__PORT="0"
    )
    log = tmp_path / "up.log"
    return start_finmon(["up", "--no-view", *args], env, log), log


def check_dashboard(log_text: str) -> None:
    """The page `finmon up` announces answers with every chart; drawn with marks where Chromium is here."""
    match = re.search(r"dashboard: (http://\S+)", log_text)
    assert match, "finmon up did not announce its dashboard"
    charts = httpx.get(match.group(1) + "api/charts", timeout=30).json()
    assert len(charts["panels"]) == 5 and charts["end"].startswith("2026-11-20")  # the demo's replay clock
    health = httpx.get(match.group(1) + "api/health", timeout=30).json()
    states = {item["name"]: (item["state"], item["text"]) for item in health["items"]}
    assert states["workers"] == ("ok", "1 of 1 up"), health  # the worker child's /metrics, found through its log
    assert states["lag"][0] != "unknown" and states["alert evaluation"][0] != "unknown", health  # in-process
    if find_chromium() is None:
        return
    page = dump_dom(match.group(1))
    assert 'data-state="ready"' in page.stdout and re.search(r'<pre id="errors">\s*</pre>', page.stdout)
    assert drawn_marks(page.stdout)["rect"] > 10 and drawn_marks(page.stdout)["symbol"] > 10


def test_demo_flows_and_sigterm_stops_every_server(tmp_path: Path, tiny_model_dir: Path) -> None:
    process, log = start_up(tmp_path, tiny_model_dir, "--demo", "--rate", "200")
    try:
        wait_for(lambda: re.search(r" 331 indexed", log.read_text()) is not None, 180, "the demo feed indexed", log)
        spawned = children(process.pid)
        assert len(spawned) >= 3  # broker, Elasticsearch-API server, worker
        assert "alert evaluator started" in log.read_text()
        assert "scraper:" not in log.read_text()  # --demo replays, it does not scrape
        check_dashboard(log.read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) in (0, 130)
        wait_for(lambda: not alive(spawned), 30, "the servers and the worker to stop", log)
    finally:
        if process.poll() is None:
            process.kill()


def test_sigkill_of_up_leaves_no_orphans(tmp_path: Path, tiny_model_dir: Path) -> None:
    process, log = start_up(tmp_path, tiny_model_dir)
    wait_for(lambda: len(children(process.pid)) >= 3, 120, "servers and worker to start", log)
    spawned = children(process.pid)
    process.kill()
    process.wait()
    wait_for(lambda: not alive(spawned), 30, "the children to follow their parent", log)
