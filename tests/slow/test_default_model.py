"""The shipped default model on the real base (slow): offline loading, its quality on the shared valid splits
through `finmon eval`, and the demo burst raising an alert end to end in `finmon up --demo`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from monitor.scoring.modeldir import default_model_dir
from monitor.scoring.scorer import Scorer
from monitor.settings import ModelSettings
from tests.helpers import FINMON, child_env, start_finmon, wait_for

pytestmark = pytest.mark.slow

# Figures of the shipped model (monitor/models/default/metrics.json) less a small margin for thread-count noise.
FIRING_NWSC = re.compile(r"alert firing [0-9a-f]+: Negative news .* in ticker NWSC")
MINIMUM = {"sentiment": {"accuracy": 0.87, "macro_f1": 0.83}, "topic": {"accuracy": 0.88, "macro_f1": 0.87}}


def offline_env(tmp_path: Path) -> dict[str, str]:
    return child_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", FINMON_DATA_DIR=str(tmp_path / "data"))


def test_default_model_scores_obvious_headlines() -> None:
    scorer = Scorer.from_settings(ModelSettings(device="cpu"))
    assert scorer.spec.adapter, "the shipped default is an adapter over the PyPI base"
    texts = [
        "$NWSC plunges 25% after Northwind Semiconductor slashes outlook, CFO resigns",
        "Apex Foods beats estimates and raises full-year guidance; shares jump to record high",
        "The Federal Reserve will publish the minutes of its November meeting at 2 p.m. ET on Wednesday",
    ]
    predictions = scorer.score(texts)
    assert [p.sentiment for p in predictions] == ["negative", "positive", "neutral"]
    assert predictions[2].topic == "Fed | Central Banks"
    assert predictions[0].sentiment_score < -0.5 < 0.5 < predictions[1].sentiment_score


@pytest.mark.parametrize(("task", "folder"), [("sentiment", "tfns"), ("topic", "tfnt")])
def test_finmon_eval_of_the_default_model(shared_data: Path, tmp_path: Path, task: str, folder: str) -> None:
    data = shared_data / folder / "valid.csv"
    result = subprocess.run(
        [*FINMON, "eval", "--data", str(data), "--task", task],
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(result.stdout)
    shipped = json.loads((default_model_dir() / "metrics.json").read_text())["reports"][task]
    for metric, floor in MINIMUM[task].items():
        assert report[metric] >= floor, (metric, report[metric])
        assert abs(report[metric] - shipped[metric]) < 0.01, "eval differs from the figures shipped with the model"


@pytest.mark.integration
def test_demo_burst_raises_a_ticker_alert(tmp_path: Path) -> None:
    """The demo replays a day with a burst of negative news about Northwind Semiconductor: the evaluator, on
    the demo's replay clock, fires an alert for NWSC while the live view runs."""
    log = tmp_path / "up.log"
    process = start_finmon(["up", "--demo", "--no-view"], offline_env(tmp_path), log)

    def fired_or_ended() -> bool:
        text = log.read_text(errors="replace")
        return process.poll() is not None or (re.search(FIRING_NWSC, text) is not None and " 331 indexed" in text)

    try:
        wait_for(fired_or_ended, 300, "the NWSC alert and the demo indexed", log)
        text = log.read_text(errors="replace")
        assert re.search(FIRING_NWSC, text), text[-4000:]
        assert " 331 indexed" in text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)  # a shutdown that hangs fails the test
