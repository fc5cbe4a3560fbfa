"""The labels index (FINMON_ES__LABELS_INDEX, `finmon-labels`): one document per labelled news item, its id the
news id (or, for imported rows without one, a hash of the text), so relabelling replaces the label.

A thin adapter over the Elasticsearch client: writes refresh at once (the review page reads its own
writes), reads page with `search_after` on the stored `label_id` (no scroll or point in time, which the
test servers lack).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from monitor.labels.records import Label, text_key
from monitor.store.es_setup import ensure_index
from monitor.store.mappings import IndexSpec
from monitor.times import iso

LABELS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "label_id": {"type": "keyword"},
        "news_id": {"type": "keyword"},
        "text": {"type": "text"},
        "sentiment": {"type": "keyword"},
        "topic": {"type": "keyword"},
        "labelled_at": {"type": "date"},
        "labeller": {"type": "keyword"},
        "model_version": {"type": "keyword"},
    },
}
PAGE = 1000


class LabelStoreError(RuntimeError):
    """Elasticsearch refused some labels; the message says which and why."""


def labels_index_spec(index: str) -> IndexSpec:
    """A small plain index (rewritten by id, so no rollover)."""
    return IndexSpec(index, LABELS_MAPPING)


def label_id(label: Label) -> str:
    """The news id; for a text without one, `text-` + a hash of its normalised text."""
    if label.news_id:
        return label.news_id
    return "text-" + hashlib.sha256(text_key(label.text).encode()).hexdigest()[:32]


def label_document(label: Label) -> dict[str, Any]:
    document = {
        "label_id": label_id(label),
        "news_id": label.news_id,
        "text": label.text,
        "sentiment": label.sentiment,
        "topic": label.topic,
        "labelled_at": iso(label.labelled_at) if label.labelled_at else None,
        "labeller": label.labeller,
        "model_version": label.model_version,
    }
    return {key: value for key, value in document.items() if value is not None}


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def label_of_document(source: dict[str, Any]) -> Label:
    return Label(
        text=source.get("text", ""),
        sentiment=source.get("sentiment"),
        topic=source.get("topic"),
        news_id=source.get("news_id"),
        labelled_at=_moment(source.get("labelled_at")),
        labeller=source.get("labeller"),
        model_version=source.get("model_version"),
    )


def ensure_labels_index(es: Elasticsearch, index: str) -> None:
    ensure_index(es, index, LABELS_MAPPING)


def stamped(labels: Iterable[Label], clock: Callable[[], datetime]) -> list[Label]:
    """Labels without a time get the clock's now (an import's rows, typically)."""
    now = clock()
    return [label if label.labelled_at else replace(label, labelled_at=now) for label in labels]


def write_labels(es: Elasticsearch, index: str, labels: Sequence[Label]) -> int:
    """Index the labels (each replaces any earlier label of its id) and refresh; LabelStoreError names the
    labels Elasticsearch refused. Returns how many were written."""
    ensure_labels_index(es, index)
    actions = ({"_index": index, "_id": label_id(label), "_source": label_document(label)} for label in labels)
    written, failed = helpers.bulk(es, actions, chunk_size=500, raise_on_error=False, stats_only=False)
    es.indices.refresh(index=index)
    errors = failed if isinstance(failed, list) else []
    if errors:
        shown = "; ".join(str(error)[:200] for error in errors[:3])
        raise LabelStoreError(f"{len(errors)} of {len(labels)} labels were not stored: {shown}")
    return int(written)


def write_label(es: Elasticsearch, index: str, label: Label) -> Label | None:
    """Store one label, replacing its id's earlier one; returns that earlier label (for undo), if any."""
    previous = get_label(es, index, label_id(label))
    ensure_labels_index(es, index)
    es.index(index=index, id=label_id(label), document=label_document(label), refresh=True)
    return previous


def get_label(es: Elasticsearch, index: str, identifier: str) -> Label | None:
    try:
        found = es.get(index=index, id=identifier)
    except NotFoundError:
        return None
    return label_of_document(dict(found["_source"]))


def delete_label(es: Elasticsearch, index: str, identifier: str) -> bool:
    """Remove one label (undo of a first label); False when there was none."""
    try:
        es.delete(index=index, id=identifier, refresh=True)
    except NotFoundError:
        return False
    return True


def _pages(es: Elasticsearch, index: str, query: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"query": query, "size": PAGE, "sort": [{"label_id": "asc"}]}
        if after is not None:
            body["search_after"] = after
        try:
            hits = es.search(index=index, body=body)["hits"]["hits"]
        except NotFoundError:
            return
        if not hits:
            return
        yield hits
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]


def read_labels(es: Elasticsearch, index: str) -> list[Label]:
    """Every label in the index (none when the index does not exist yet), ordered by id."""
    return [label_of_document(hit["_source"]) for page in _pages(es, index, {"match_all": {}}) for hit in page]


def labelled_ids(es: Elasticsearch, index: str, news_ids: Sequence[str]) -> set[str]:
    """Which of these news ids have a label already."""
    found: set[str] = set()
    for start in range(0, len(news_ids), PAGE):
        chunk = list(news_ids[start : start + PAGE])
        try:
            hits = es.search(
                index=index, body={"query": {"ids": {"values": chunk}}, "size": len(chunk), "_source": False}
            )
        except NotFoundError:
            return set()
        found.update(hit["_id"] for hit in hits["hits"]["hits"])
    return found


def label_counts(es: Elasticsearch, index: str) -> dict[str, Any]:
    """How many labels per sentiment and per topic, and in all."""
    aggs = {head: {"terms": {"field": head, "size": 100}} for head in ("sentiment", "topic")}
    try:
        answer = es.search(index=index, body={"size": 0, "aggs": aggs, "track_total_hits": True})
    except NotFoundError:
        return {"total": 0, "sentiment": {}, "topic": {}}
    total = answer["hits"]["total"]
    counts: dict[str, Any] = {"total": total["value"] if isinstance(total, dict) else int(total)}
    for head in ("sentiment", "topic"):
        counts[head] = {bucket["key"]: bucket["doc_count"] for bucket in answer["aggregations"][head]["buckets"]}
    return counts
