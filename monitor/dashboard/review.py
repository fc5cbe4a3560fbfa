"""The review queue's data (a thin adapter): candidates from the news index, labels to and from the labels
index, and an undo history of this page's own writes.

The queue reads four small pools of the range's news (the latest items the sentiment head was very unsure
and unsure of, the least confident topics, the latest) and lets `monitor.labels.queue` order them;
Elasticsearch never has to compute a margin (the test servers run no scripts).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from monitor.dashboard.specs import Target, safe_link, time_filter
from monitor.dashboard.timerange import window
from monitor.labels.files import Prediction
from monitor.labels.labels_index import delete_label, label_counts, labelled_ids, write_label
from monitor.labels.queue import Candidate, candidate, pick_queue
from monitor.labels.records import Label

POOL = 400  # news read per pool
UNSURE = (0.45, 0.6)  # every sentiment probability under this: the head had no (clear) winner
SNIPPET = 600  # characters of body text shown under the headline
UNDO_DEPTH = 500
SOURCE_FIELDS = [
    "id", "title", "text", "url", "source", "tickers", "story_id", "topic", "topic_confidence", "sentiment",
    "sentiment_probs", "model_name", "model_version", "model_hash", "published_at", "scored_at",
]  # fmt: skip


def unsure(limit: float) -> list[dict[str, Any]]:
    """Filters for news whose sentiment probabilities are all under `limit` (Elasticsearch computes no margin)."""
    return [{"range": {f"sentiment_probs.{name}": {"lt": limit}}} for name in ("negative", "neutral", "positive")]


class UnknownNews(LookupError):
    """No news document has this id."""


def news_text(source: dict[str, Any]) -> str:
    """What the model read: the title, then the text when it adds anything (as NewsItem.content)."""
    title, text = str(source.get("title") or ""), str(source.get("text") or "")
    if text and text != title:
        return f"{title}. {text}" if title else text
    return title


def model_of(source: dict[str, Any]) -> dict[str, str | None]:
    return {key: source.get(f"model_{key}") for key in ("name", "version", "hash")}


def model_version_of(source: dict[str, Any]) -> str | None:
    """The scoring model as one string for the label: `name version #hash` (parts that exist)."""
    model = model_of(source)
    parts = [model["name"], model["version"], f"#{model['hash']}" if model["hash"] else None]
    return " ".join(str(part) for part in parts if part) or None


def prediction_of(source: dict[str, Any], certainty: float | None = None) -> Prediction:
    """The model's labels on a news document, as Label Studio pre-annotations."""
    return Prediction(source.get("sentiment"), source.get("topic"), certainty, model_version_of(source))


def queue_item(item: Candidate, time_field: str) -> dict[str, Any]:
    source = item.source
    text = str(source.get("text") or "")
    return {
        "id": item.id,
        "title": item.title,
        "text": "" if text == item.title else text[:SNIPPET],
        "url": safe_link(source.get("url")),
        "source": source.get("source"),
        "tickers": list(item.tickers),
        "time": source.get(time_field),
        "sentiment": item.sentiment,
        "sentiment_probs": dict(item.sentiment_probs),
        "topic": item.topic,
        "topic_confidence": item.topic_confidence,
        "certainty": round(item.certainty, 4),
        "model": model_of(source),
    }


class ReviewData:
    """Reads the queue and writes labels for the review page; `clock` is injected (replayed history)."""

    def __init__(self, client: Elasticsearch, target: Target, labels_index: str, clock: Callable[[], datetime]):
        self.client, self.target, self.labels_index, self.clock = client, target, labels_index, clock
        self.history: deque[tuple[str, Label | None]] = deque(maxlen=UNDO_DEPTH)
        self.lock = threading.Lock()

    def _pool(self, filters: list[dict[str, Any]], sort: list[dict[str, Any]]) -> list[Candidate]:
        body = {"size": POOL, "_source": SOURCE_FIELDS, "query": {"bool": {"filter": filters}}, "sort": sort}
        try:
            hits = self.client.search(index=self.target.news_index, body=body)["hits"]["hits"]
        except NotFoundError:
            return []
        return [c for hit in hits if (c := candidate(hit["_id"], hit["_source"])) is not None]

    def candidates(self, range_name: str) -> list[Candidate]:
        field = self.target.time_field
        in_range = time_filter(field, window(range_name, self.clock()))
        latest = [{field: {"order": "desc"}}]
        pools = [
            *(self._pool([in_range, *unsure(limit)], latest) for limit in UNSURE),
            self._pool([in_range], [{"topic_confidence": {"order": "asc"}}]),
            self._pool([in_range], latest),
        ]
        return list({c.id: c for pool in pools for c in pool}.values())

    def queue(self, range_name: str, size: int) -> dict[str, Any]:
        pool = self.candidates(range_name)
        done = labelled_ids(self.client, self.labels_index, [c.id for c in pool])
        items = [queue_item(c, self.target.time_field) for c in pick_queue(pool, done, size)]
        return {"range": range_name, "items": items, "pool": len(pool), "counts": self.counts()}

    def to_label(self, range_name: str, size: int) -> list[tuple[Label, Prediction]]:
        """The queue's news as unlabelled tasks with the model's labels (for Label Studio)."""
        pool = self.candidates(range_name)
        done = labelled_ids(self.client, self.labels_index, [c.id for c in pool])
        tasks = []
        for item in pick_queue(pool, done, size):
            label = Label(news_text(item.source), news_id=item.id, model_version=model_version_of(item.source))
            tasks.append((label, prediction_of(item.source, round(item.certainty, 4))))
        return tasks

    def counts(self) -> dict[str, Any]:
        return label_counts(self.client, self.labels_index)

    def news(self, news_id: str) -> dict[str, Any]:
        """The news document (through the alias too, where `get` cannot go)."""
        body = {"size": 1, "_source": SOURCE_FIELDS, "query": {"ids": {"values": [news_id]}}}
        try:
            hits = self.client.search(index=self.target.news_index, body=body)["hits"]["hits"]
        except NotFoundError:
            hits = []
        if not hits:
            raise UnknownNews(f"no news with id {news_id!r}")
        return dict(hits[0]["_source"])

    def sources(self, news_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The news documents of these ids that exist (for exports: the model's labels of labelled news)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(news_ids), POOL):
            chunk = news_ids[start : start + POOL]
            body = {"size": len(chunk), "_source": SOURCE_FIELDS, "query": {"ids": {"values": chunk}}}
            try:
                hits = self.client.search(index=self.target.news_index, body=body)["hits"]["hits"]
            except NotFoundError:
                return found
            found.update((hit["_id"], dict(hit["_source"])) for hit in hits)
        return found

    def label(self, news_id: str, sentiment: str | None, topic: str | None, labeller: str | None) -> dict[str, Any]:
        """Store a person's label for a news item (text and scoring model from the index, not the page)."""
        source = self.news(news_id)
        label = Label(
            text=news_text(source),
            sentiment=sentiment,
            topic=topic,
            news_id=news_id,
            labelled_at=self.clock(),
            labeller=labeller,
            model_version=model_version_of(source),
        )
        with self.lock:
            previous = write_label(self.client, self.labels_index, label)
            self.history.append((news_id, previous))
        return {"stored": news_id, "relabelled": previous is not None, "counts": self.counts()}

    def undo(self, news_id: str) -> dict[str, Any]:
        """Take back this page's latest label of `news_id`: the earlier label returns, or none is left."""
        with self.lock:
            found = next((i for i in range(len(self.history) - 1, -1, -1) if self.history[i][0] == news_id), None)
            if found is None:
                raise UnknownNews(f"nothing to undo for {news_id!r} (only this page's own labels can be undone)")
            _, previous = self.history[found]
            del self.history[found]
            if previous is None:
                delete_label(self.client, self.labels_index, news_id)
            else:
                write_label(self.client, self.labels_index, previous)
        return {"undone": news_id, "restored": previous is not None, "counts": self.counts()}
