"""`finmon up --demo --no-view` with FINMON_ALERTS__ALERTMANAGER_URLS pointing at a real Alertmanager: the
demo's NWSC alert is there within 3 minutes, with its labels, headlines and an endsAt minutes ahead (slow: the
shipped model; skipped, saying why, without prometheus-alertmanager)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_env, start_finmon, wait_for
from tests.production.prometheus_servers import Running, alertmanager

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CONFIG = {"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}


def nwsc(am: Running) -> list[dict[str, Any]]:
    return [a for a in am.get("/api/v2/alerts") if a["labels"].get("ticker") == "NWSC"]


def test_the_demo_alert_reaches_a_real_alertmanager_within_three_minutes(tmp_path: Path) -> None:
    with alertmanager(CONFIG, tmp_path) as am:
        env = child_env(
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            FINMON_DATA_DIR=str(tmp_path / "data"),
            FINMON_ALERTS__ALERTMANAGER_URLS=am.url,
        )
        log = tmp_path / "up.log"
        process = start_finmon(["up", "--demo", "--no-view"], env, log)
        try:
            wait_for(lambda: bool(nwsc(am)) or process.poll() is not None, 180, "the NWSC alert in Alertmanager", log)
            (alert,) = nwsc(am)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    assert alert["labels"]["alertname"] == "NegativeNewsSpike" and alert["labels"]["scope"] == "ticker"
    assert {"rule", "severity"} <= set(alert["labels"]) and alert["annotations"]["headlines"]
    assert alert["generatorURL"].endswith("/?scope=ticker&ticker=NWSC")
    ends = datetime.fromisoformat(alert["endsAt"])
    assert timedelta(minutes=2) < ends - datetime.now(UTC) <= timedelta(minutes=4, seconds=5)
