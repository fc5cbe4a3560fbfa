"""The labels index on both ES-API servers: one label per news id (relabelling replaces it), imported rows
without an id keyed by their text, reads that page past one search, counts per class, undo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from monitor.labels import labels_index as labels_index_module
from monitor.labels.labels_index import (
    delete_label,
    label_counts,
    label_id,
    labelled_ids,
    read_labels,
    stamped,
    write_label,
    write_labels,
)
from monitor.labels.records import Label
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def labels_index(es_settings: ElasticsearchSettings, unique: str) -> Iterator[tuple[Elasticsearch, str]]:
    client = make_client(es_settings)
    index = f"labels-{unique}"
    yield client, index
    if client.indices.exists(index=index):
        client.indices.delete(index=index)
    client.close()


def test_missing_index_reads_as_no_labels(labels_index: tuple[Elasticsearch, str]) -> None:
    client, index = labels_index
    assert read_labels(client, index) == []
    assert label_counts(client, index) == {"total": 0, "sentiment": {}, "topic": {}}
    assert labelled_ids(client, index, ["a"]) == set()


def test_relabelling_replaces_and_undo_restores(labels_index: tuple[Elasticsearch, str]) -> None:
    client, index = labels_index
    first = Label("Chipmaker beats estimates", "neutral", "Earnings", news_id="n1", labelled_at=WHEN, model_version="2")
    assert write_label(client, index, first) is None
    second = Label(first.text, "positive", "Earnings", news_id="n1", labelled_at=WHEN, labeller="ana")
    assert write_label(client, index, second) == first
    assert read_labels(client, index) == [second]
    assert write_label(client, index, first) == second  # undo of the relabel: the earlier label back
    assert read_labels(client, index) == [first]
    assert delete_label(client, index, "n1") and not delete_label(client, index, "n1")
    assert read_labels(client, index) == []


def test_bulk_import_pages_counts_and_ids(
    labels_index: tuple[Elasticsearch, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, index = labels_index
    monkeypatch.setattr(labels_index_module, "PAGE", 7)  # several pages of search_after
    sentiments = ("negative", "neutral", "positive")
    labels = stamped(
        [Label(f"headline number {n}", sentiments[n % 3], "Markets" if n % 2 else None) for n in range(20)],
        lambda: WHEN,
    )
    labels.append(Label("with an id", None, "Macro", news_id="news-1", labelled_at=WHEN))
    assert write_labels(client, index, labels) == 21
    assert write_labels(client, index, labels[:5]) == 5  # the same texts again: replaced, not added
    stored = read_labels(client, index)
    assert sorted(stored, key=label_id) == sorted(labels, key=label_id)
    assert all(x.labelled_at == WHEN for x in stored)
    counts = label_counts(client, index)
    assert counts["total"] == 21
    assert counts["sentiment"] == {"negative": 7, "neutral": 7, "positive": 6}
    assert counts["topic"] == {"Markets": 10, "Macro": 1}
    assert labelled_ids(client, index, ["news-1", "news-2", label_id(labels[0])]) == {"news-1", label_id(labels[0])}


def test_text_ids_ignore_case_and_spacing() -> None:
    assert label_id(Label("Stocks  rally", "positive")) == label_id(Label(" stocks rally ", "negative"))
    assert label_id(Label("Stocks rally", "positive", news_id="x")) == "x"
