"""The shipped default model on the real base (slow): offline loading, its quality on the shared valid splits
and on the FiQA news test split through `finmon eval` (the card's floors), and the demo burst raising an alert
end to end in `finmon up --demo`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from monitor.scoring.modeldir import default_model_dir
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.helpers import FINMON, child_env, start_finmon, wait_for

pytestmark = pytest.mark.slow

FIRING_NWSC = re.compile(r"alert firing [0-9a-f]+: Negative news .* in ticker NWSC")
# The default's floors are issue 20's targets: FiQA's fixed test split (`finmon split --test 136 --seed 13`) at
# 0.70 macro-F1 or better, the tweet valid splits at 0.87 / 0.84 (sentiment) and 0.89 / 0.87 (topic).
# finmon-minilm 4 gives 0.707, 0.876 / 0.8401 and 0.895 / 0.888: TFNS macro-F1 clears its floor by 0.0001 (the
# card says how its interpolation weight was chosen), so a change that moves a few tweets fails here.
MINIMUM = {"sentiment": {"accuracy": 0.87, "macro_f1": 0.84}, "topic": {"accuracy": 0.89, "macro_f1": 0.87}}
FIQA_MINIMUM = 0.70


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
    shipped = json.loads((default_model_dir() / "metrics.json").read_text())["eval"][task]
    for metric, floor in MINIMUM[task].items():
        assert report[metric] >= floor, (metric, report[metric])
        assert abs(report[metric] - shipped[metric]) < 0.01, "eval differs from the figures shipped with the model"


def test_the_default_reads_news_on_the_fiqa_test_split(shared_data: Path, tmp_path: Path) -> None:
    labels = shared_data / "fiqa" / "headlines.csv"
    env = offline_env(tmp_path)
    split = [*FINMON, "split", str(labels), "--test", "136", "--seed", "13", "--out", str(tmp_path / "fiqa")]
    subprocess.run(split, env=env, capture_output=True, text=True, timeout=300, check=True)
    test = tmp_path / "fiqa" / "test.csv"
    argv = [*FINMON, "eval", "--data", str(test), "--task", "sentiment", "--label-column", "sentiment"]
    report = json.loads(subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=True).stdout)
    shipped = json.loads((default_model_dir() / "metrics.json").read_text())["eval"]["sentiment (fiqa test)"]
    assert report["n"] == 136 and report["macro_f1"] >= FIQA_MINIMUM, report["macro_f1"]
    assert abs(report["macro_f1"] - shipped["macro_f1"]) < 0.01


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
