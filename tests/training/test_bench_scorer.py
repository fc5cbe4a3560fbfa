"""`finmon bench scorer` on the tiny model: both docs/s figures, their ratio and label agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app.cli import main
from monitor.app.settings import SettingsError
from monitor.app.training_cli import load_texts as load_option_texts
from monitor.stage_settings import ModelSettings
from tests.helpers import SAMPLE_HEADLINES
from training.model_bench import TextsError, bench_scorer, load_texts

pytestmark = pytest.mark.usefixtures("no_finmon_env")


@pytest.fixture
def texts(tmp_path: Path) -> Path:
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": 0}) + "\n" for t in SAMPLE_HEADLINES * 10))
    return path


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_bench_reports_both_speeds_their_ratio_and_agreement(
    backend: str, short_model_dir: Path, texts: Path, tmp_path: Path
) -> None:
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
    model = ModelSettings(path=str(short_model_dir), device="cpu", onnx_cache_dir=str(tmp_path / "onnx"))
    result = bench_scorer(model, load_texts(texts, 50), None, backend)
    assert result["texts"] == 50 and result["model"] == "tiny-random 0"
    assert (
        result["finmon"]["backend"] == {"onnx": "onnx int8", "torch": "torch"}[backend]
        and result["baseline"]["padded_to"] == 32
    )
    for path in ("finmon", "baseline"):
        assert result[path]["docs_per_s"] > 0
        assert result[path]["docs_per_s"] == pytest.approx(50 / result[path]["seconds"])
    assert result["speedup"] == pytest.approx(result["finmon"]["docs_per_s"] / result["baseline"]["docs_per_s"])
    assert set(result["label_agreement"]) == {"sentiment", "topic"}
    assert all(0.0 <= share <= 1.0 for share in result["label_agreement"].values())
    if backend == "torch":  # same weights and texts (all within one window), both fp32: padding changes no label
        assert result["label_agreement"] == {"sentiment": 1.0, "topic": 1.0}
    json.dumps(result)  # the CLI prints it as JSON


def test_texts_are_read_from_csv_or_jsonl_with_a_limit(texts: Path, tmp_path: Path) -> None:
    assert load_texts(texts, 3) == SAMPLE_HEADLINES[:3]
    csv_file = tmp_path / "texts.csv"
    csv_file.write_text('text,label\n"a, b",0\n,1\nc,2\n')
    assert load_texts(csv_file, 0) == ["a, b", "c"]


def test_missing_texts_name_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TextsError, match=r"nowhere\.csv not found"):
        load_texts(tmp_path / "nowhere.csv", 0)
    with pytest.raises(SettingsError, match=r"--texts: .*nowhere\.csv not found"):
        load_option_texts(tmp_path / "nowhere.csv", 0)
    (tmp_path / "titles.csv").write_text("title\nfed cuts rates\n")
    with pytest.raises(SettingsError, match=r"--texts: .*titles\.csv has no text column"):
        load_option_texts(tmp_path / "titles.csv", 0)
    assert main(["bench", "scorer", "--texts", str(tmp_path / "nowhere.csv")]) == 2
    assert "--texts" in capsys.readouterr().err


@pytest.mark.parametrize(("env", "expected"), [({}, "torch"), ({"FINMON_MODEL__BACKEND": "fixed"}, None)])
def test_the_cli_measures_the_configured_backend(
    env: dict[str, str],
    expected: str | None,
    short_model_dir: Path,
    texts: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["bench", "scorer", "--model", str(short_model_dir), "--texts", str(texts), "--limit", "8"])
    out, err = capsys.readouterr()
    if expected is None:  # the zero-cost instrument has no model to compare with the baseline
        assert code == 2 and "'fixed' has no model" in err
    else:
        assert code == 0 and json.loads(out)["finmon"]["backend"] == expected
