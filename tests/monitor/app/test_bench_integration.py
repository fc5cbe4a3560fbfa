"""`finmon bench pipeline --json` runs the three measures and ends with one JSON object (no timing asserted)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_bench_pipeline_json_has_the_ratio_and_the_zero_cost_path(tiny_model_dir: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    with texts.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([f"Acme shares rise {i} after earnings"] for i in range(40))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINMON_")}
    env.update(FINMON_DATA_DIR=str(tmp_path / "data"), FINMON_METRICS__ENABLED="false")
    args = ["bench", "pipeline", "--texts", str(texts), "--limit", "40", "--json"]
    args += ["--model", str(tiny_model_dir), "--backend", "torch"]
    done = subprocess.run(
        [sys.executable, "-m", "monitor.app.cli", *args], env=env, capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["texts"] == 40 and figures["backend"] == "torch" and figures["model"] == str(tiny_model_dir)
    assert figures["ratio"] == pytest.approx(figures["whole_path"] / figures["scorer_alone"], abs=0.002)
    assert figures["zero_cost_path"] > 0
