"""`finmon labels import/export/counts` against both ES-API servers: a CSV and a Label Studio export in,
CSV and Label Studio tasks (with the model's predictions and queued news) out and back in; a bad file
changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from monitor.app import cli
from monitor.labels.labels_index import read_labels
from monitor.news.schemas import SentimentProbs
from monitor.stage_settings import ElasticsearchSettings
from tests.helpers import scored_news
from tests.support.news_index import news_sink
from tests.support.sinks import encoded

pytestmark = pytest.mark.integration


@pytest.fixture
def es(es_env: tuple[ElasticsearchSettings, Elasticsearch]) -> tuple[ElasticsearchSettings, Elasticsearch]:
    """The test's indices with three scored news to queue."""
    settings, client = es_env
    now = datetime.now(UTC)
    probs = SentimentProbs(negative=0.2, neutral=0.5, positive=0.3)
    news = [scored_news(f"n{n}", f"Headline number {w}", now - timedelta(hours=n), "Markets", "neutral", probs)
            for n, w in enumerate(("one", "two", "three"))]  # fmt: skip
    assert news_sink(client, settings.news_index).write(encoded(news)) == []
    client.indices.refresh(index=settings.news_index)
    return es_env


def test_import_export_round_trip(
    es: tuple[ElasticsearchSettings, Elasticsearch], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, client = es
    rows = tmp_path / "mine.csv"
    rows.write_text(
        "text,sentiment,topic\nStocks rally late,positive,Markets\nBond yields fall,,Treasuries | Corporate Debt\n"
    )
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}}]
    studio = tmp_path / "studio.json"
    studio.write_text(json.dumps([{"id": 1, "data": {"text": "Headline number one", "news_id": "n0"},
                                   "annotations": [{"result": result}]}]))  # fmt: skip
    assert cli.main(["labels", "import", str(rows), str(studio), "--labeller", "desk"]) == 0
    assert "imported 3 labels (2 with a sentiment, 2 with a topic)" in capsys.readouterr().out
    stored = {label.text: label for label in read_labels(client, settings.labels_index)}
    assert stored["Headline number one"].news_id == "n0" and stored["Stocks rally late"].labeller == "desk"
    assert all(label.labelled_at is not None for label in stored.values())

    out = tmp_path / "out" / "labels.csv"
    assert cli.main(["labels", "export", "--out", str(out)]) == 0
    tasks = tmp_path / "tasks.json"
    assert cli.main(["labels", "export", "--out", str(tasks), "--queue", "5"]) == 0
    assert "wrote 3 labelled and 2 unlabelled tasks" in capsys.readouterr().out
    exported = json.loads(tasks.read_text())
    by_id = {task["data"].get("news_id"): task for task in exported}
    assert by_id["n0"]["predictions"][0]["result"][0]["value"]["choices"] == ["neutral"]  # the model said neutral
    assert {"n1", "n2"} <= set(by_id) and "annotations" not in by_id["n1"]
    assert '<Choices name="topic"' in tasks.with_suffix(".label-config.xml").read_text()

    client.indices.delete(index=settings.labels_index)
    assert cli.main(["labels", "import", str(out)]) == 0
    assert {x.text: (x.sentiment, x.topic, x.news_id) for x in read_labels(client, settings.labels_index)} == {
        text: (label.sentiment, label.topic, label.news_id) for text, label in stored.items()
    }
    # labelling the queued tasks in Label Studio and importing them back
    by_id["n1"]["annotations"] = [{"result": by_id["n1"]["predictions"][0]["result"]}]
    tasks.write_text(json.dumps(exported))
    assert cli.main(["labels", "import", str(tasks)]) == 0
    capsys.readouterr()
    assert cli.main(["labels", "counts"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["total"] == 4 and counts["sentiment"] == {"positive": 1, "negative": 1, "neutral": 1}


def test_a_bad_file_changes_nothing(
    es: tuple[ElasticsearchSettings, Elasticsearch], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, client = es
    good = tmp_path / "good.csv"
    good.write_text("text,sentiment\nFine row,positive\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "sentiment": "negative"}\n{"text": "", "sentiment": "negative"}\n')
    assert cli.main(["labels", "import", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl: line 2: empty text; nothing was imported" in err
    assert read_labels(client, settings.labels_index) == []
    assert cli.main(["labels", "export", "--out", str(tmp_path / "x.csv"), "--queue", "3"]) == 2
    assert "--queue" in capsys.readouterr().err
