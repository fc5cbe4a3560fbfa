"""`finmon bench pipeline --json` runs the three measures and ends with one JSON object (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import FINMON, child_env, write_csv

pytestmark = pytest.mark.integration


def test_bench_pipeline_json_has_the_ratio_and_the_zero_cost_path(tiny_model_dir: Path, tmp_path: Path) -> None:
    texts = write_csv(tmp_path / "texts.csv", ["text"], [[f"Acme shares rise {i} after earnings"] for i in range(40)])
    env = child_env(FINMON_DATA_DIR=str(tmp_path / "data"), FINMON_METRICS__ENABLED="false")
    args = ["bench", "pipeline", "--texts", str(texts), "--limit", "40", "--json"]
    args += ["--model", str(tiny_model_dir), "--backend", "torch"]
    done = subprocess.run([*FINMON, *args], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["texts"] == 40 and figures["backend"] == "torch" and figures["model"] == str(tiny_model_dir)
    assert figures["ratio"] == pytest.approx(figures["whole_path"] / figures["scorer_alone"], abs=0.002)
    assert figures["zero_cost_path"] > 0
