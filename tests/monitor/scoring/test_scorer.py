from pathlib import Path

import pytest

from monitor.scoring.modeldir import ModelFormatError, ModelSpec
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings
from tests.support.tiny_model import SENTIMENT_LABELS, TOPIC_LABELS


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return Scorer.from_settings(
        ModelSettings(path=str(tiny_model_dir), device="cpu", max_batch=4, max_length=16, window_stride=4)
    )


def test_scores_every_text_with_both_heads_in_input_order(scorer: Scorer) -> None:
    texts = ["fed cut rates", "apple stock up after earnings beat", "", "oil price falls"]
    predictions = scorer.score(texts)
    assert len(predictions) == 4
    for p in predictions:
        assert p.topic in TOPIC_LABELS and p.sentiment in SENTIMENT_LABELS
        assert sum(p.sentiment_probs) == pytest.approx(1.0, abs=1e-5)
        assert -1.0 <= p.sentiment_score <= 1.0 and 0 < p.topic_confidence <= 1
    # order does not depend on batching: scoring one text alone gives the same answer
    alone = scorer.score([texts[1]])[0]
    assert alone.sentiment_probs == pytest.approx(predictions[1].sentiment_probs, abs=1e-5)
    assert alone.topic == predictions[1].topic


def test_long_text_is_scored_over_several_windows(scorer: Scorer) -> None:
    short, long = scorer.score(["bank rates up", "bank rates up and the market falls " * 20])
    assert short.windows == 1
    assert long.windows > 3


def test_windows_overlap_by_the_stride(scorer: Scorer) -> None:
    ids, owners = scorer.windows(["the market " * 30])
    assert len(ids) > 1 and set(owners) == {0}
    first, second = ids[0], ids[1]
    assert first[-1 - scorer.stride : -1] == second[1 : 1 + scorer.stride]  # [CLS] ... [SEP] around each


def test_empty_batch(scorer: Scorer) -> None:
    assert scorer.score([]) == []


def test_model_directory_errors_are_clear(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(ModelFormatError, match="not a finmon model directory"):
        ModelSpec.load(tmp_path)
    spec = (
        (tiny_model_dir / "finmon_model.json")
        .read_text()
        .replace('"normalizer_version": "1"', '"normalizer_version": "0"')
    )
    (tmp_path / "finmon_model.json").write_text(spec)
    with pytest.raises(ModelFormatError, match="normaliser"):
        ModelSpec.load(tmp_path)


def test_cuda_requested_without_gpu_fails_at_start(tiny_model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="FINMON_MODEL__DEVICE=cuda"):
        Scorer.from_settings(ModelSettings(path=str(tiny_model_dir), device="cuda"))
