"""`finmon interpolate` (WiSE-FT): the model on the straight line between a LoRA model and its adapted copy is
exactly the weighted mean of their merged weights and heads, and it loads as any model does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monitor.app.cli import main
from monitor.scoring.modeldir import ModelSpec
from monitor.scoring.network import load_model
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.helpers import write_csv
from tests.training.conftest import TinyArgs
from tests.training.test_adapt import adapt_argv, label_rows
from training.train import prepare, train

pytestmark = pytest.mark.usefixtures("no_finmon_env")


@pytest.fixture
def pair(
    tiny_base: Path, tmp_path: Path, sentiment_csv: Path, topic_csv: Path, tiny_args: TinyArgs
) -> tuple[Path, Path]:
    """A LoRA model and the model `finmon adapt` made from it."""
    start = tmp_path / "lora"
    train(prepare(tiny_args(tiny_base, start, "lora", sentiment_csv, topic_csv)), "test")
    labels = write_csv(tmp_path / "labels.csv", ["text", "sentiment"], label_rows(12))
    assert main(adapt_argv(start, labels, tmp_path / "adapted", "--version", "2")) == 0
    return start, tmp_path / "adapted"


def test_the_line_is_the_mean_of_the_merged_weights(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start, adapted = pair
    capsys.readouterr()
    output = tmp_path / "mixed"
    assert main(["interpolate", str(start), str(adapted), "--alpha", "0.25", "--output", str(output)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "2+wise0.25"
    models = [load_model(path)[0] for path in (start, adapted, output)]
    params = [dict(model.named_parameters()) for model in models]
    for name, mixed in params[2].items():
        if name.startswith("encoder.pooler."):  # not in the tiny base: initialised at random on each load, unused
            continue
        expected = 0.75 * params[0][name].float() + 0.25 * params[1][name].float()
        torch.testing.assert_close(mixed.float(), expected, atol=2e-3, rtol=1e-2, msg=name)  # fp16 files
    spec = ModelSpec.load(output)
    assert spec.extra["interpolated"] == {"start": f"{ModelSpec.load(start).name} 1", "adapted": "2", "alpha": 0.25}
    config = json.loads((output / "adapter" / "adapter_config.json").read_text())
    assert (
        config["r"]
        == config["lora_alpha"]
        == 2 * json.loads((start / "adapter" / "adapter_config.json").read_text())["r"]
    )
    assert (output / "heads.safetensors").stat().st_mode & 0o777 == 0o644
    config = json.loads((output / "training_config.json").read_text())
    assert (config["kind"], config["alpha"], config["adapted"]) == ("interpolate", 0.25, str(adapted))
    assert len(Scorer.from_settings(ModelSettings(path=str(output), device="cpu")).score(["bank shares rise"])) == 1


def test_bad_alpha_or_a_model_without_adapter_exit_2(
    pair: tuple[Path, Path], tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start, adapted = pair
    capsys.readouterr()
    assert main(["interpolate", str(start), str(adapted), "--alpha", "1.5", "--output", str(tmp_path / "a")]) == 2
    assert "alpha" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert (
        main(["interpolate", str(tiny_model_dir), str(adapted), "--alpha", "0.5", "--output", str(tmp_path / "b")]) == 2
    )
    assert "LoRA" in capsys.readouterr().err and not (tmp_path / "b").exists()
