"""`finmon adapt --from-index` against both ES-API servers: the labels index and the newest news as context."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from monitor.app.cli import main
from monitor.labels.labels_index import write_labels
from monitor.labels.records import Label
from monitor.news.schemas import SentimentProbs
from monitor.stage_settings import ElasticsearchSettings
from tests.helpers import scored_news
from tests.support.news_index import news_sink
from tests.support.sinks import encoded
from training.index_texts import recent_news_texts

pytestmark = pytest.mark.integration


def test_adapt_learns_the_labels_index_with_the_indexed_news(
    es_env: tuple[ElasticsearchSettings, Elasticsearch], tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings, client = es_env
    now = datetime.now(UTC)
    probs = SentimentProbs(negative=0.2, neutral=0.5, positive=0.3)
    news = [scored_news(f"n{n}", f"Market headline {n}", now - timedelta(hours=n), "Markets", "neutral", probs)
            for n in range(5)]  # fmt: skip
    assert news_sink(client, settings.news_index).write(encoded(news)) == []
    client.indices.refresh(index=settings.news_index)
    assert recent_news_texts(client, settings.news_index, 3) == [f"Market headline {n}" for n in range(3)]

    sentiments = ("negative", "neutral", "positive")
    labels = [Label(f"Labelled story {i}", sentiments[i % 3], news_id=f"l{i}") for i in range(6)]
    write_labels(client, settings.labels_index, labels)
    client.indices.refresh(index=settings.labels_index)
    output = tmp_path / "ours"
    empty = tmp_path / "none.txt"
    empty.write_text("")
    argv = ["adapt", "--from-index", "--output", str(output), "--model", str(tiny_model_dir), "--unlabelled"]
    assert main([*argv, str(empty), "--epochs", "1", "--max-length", "32"]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["labels"]["train"] == 6 and metrics["unlabelled_texts"] == 5
    assert metrics["label_counts"] == {"sentiment": {"negative": 2, "neutral": 2, "positive": 2}}


def test_from_index_without_labels_exits_2(
    es_env: tuple[ElasticsearchSettings, Elasticsearch],
    tiny_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["adapt", "--from-index", "--output", str(tmp_path / "ours"), "--model", str(tiny_model_dir)]
    assert main(argv) == 2
    assert "no labels found" in capsys.readouterr().err and not (tmp_path / "ours").exists()
