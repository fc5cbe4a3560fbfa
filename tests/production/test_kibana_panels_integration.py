"""Each dashboard panel's query, as Kibana sends it, on both ES-API servers over a known small dataset."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from monitor.app.indices import index_specs
from monitor.kibana import PANELS, shipped
from monitor.kibana.objects import HEADLINE_COLUMNS
from monitor.news.schemas import ScoredNews
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es_setup import run_setup
from tests.support.news_index import news_sink
from tests.support.sinks import encoded

from .dataset import T0, known_news

pytestmark = pytest.mark.integration

START, END = (T0 - timedelta(hours=1)).isoformat(), (T0 + timedelta(hours=3)).isoformat()
ALERTS = [
    ("firing", T0 + timedelta(minutes=30)),
    ("firing", T0 + timedelta(minutes=40)),
    ("resolved", T0 + timedelta(minutes=70)),
]


def with_time_range(query: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    """The panel's body as Kibana sends it for a time range: its own filters plus a range on the time field."""
    body = dict(query["body"])
    time_filter = {"range": {query["timefield"]: {"gte": start, "lt": end, "format": "strict_date_optional_time"}}}
    own = body.get("query", {}).get("bool", {}).get("filter", [])
    body["query"] = {"bool": {"filter": [*own, time_filter]}}
    return body


def hour(at: datetime | str) -> str:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.replace(minute=0, second=0, microsecond=0).isoformat()


def epoch_hour(key: int) -> str:
    return hour(datetime.fromtimestamp(key / 1000, tz=T0.tzinfo))


@pytest.fixture(scope="module")
def panels() -> dict[str, dict[str, Any]]:
    return dict(json.loads(shipped(PANELS).read_text(encoding="utf-8")))


@pytest.fixture
def indexed(es_client: Elasticsearch, es_settings: ElasticsearchSettings, unique: str) -> ElasticsearchSettings:
    es = es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})
    run_setup(es_client, es, index_specs(es))
    assert news_sink(es_client, es.news_index).write(encoded(known_news())) == []
    for n, (status, at) in enumerate(ALERTS):
        document = {"status": status, "at": at.isoformat(), "fingerprint": f"fp{n}", "labels": {"rule": "r"}}
        es_client.index(index=es.alerts_index, id=f"a{n}", document=document)
    es_client.indices.refresh(index=[es.news_index, es.alerts_index])
    return es


def run(client: Elasticsearch, es: ElasticsearchSettings, query: dict[str, Any]) -> dict[str, Any]:
    index = es.alerts_index if query["index"] == "finmon-alerts" else es.news_index
    return dict(client.search(index=index, body=with_time_range(query, START, END)))


def negative_shares(result: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    """(topic or ticker, hour) -> (negative news, all news) from a negative-share panel's answer."""
    return {
        (group["key"], epoch_hour(t["key"])): (t["negative"]["doc_count"], t["doc_count"])
        for group in result["aggregations"]["topics"]["buckets"]
        for t in group["time"]["buckets"]
    }


def expected_shares(keys: Callable[[ScoredNews], Iterable[str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """The same counted in Python over the known news, each grouped under `keys(news)`."""
    want: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for doc in known_news():
        for key in keys(doc):
            cell = want[(key, hour(doc.scored_at))]
            cell[0] += doc.sentiment == "negative"
            cell[1] += 1
    return {key: (negative, total) for key, (negative, total) in want.items()}


def test_negative_share_by_topic(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    got = negative_shares(run(es_client, indexed, panels["finmon-negative-share"]))
    assert got == expected_shares(lambda doc: [doc.topic])
    assert got[("Earnings", hour(T0))] == (3, 4)


def test_volume_by_topic(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    result = run(es_client, indexed, panels["finmon-volume-by-topic"])
    got = {
        (epoch_hour(t["key"]), topic["key"]): topic["doc_count"]
        for t in result["aggregations"]["time"]["buckets"]
        for topic in t["topics"]["buckets"]
    }
    assert got == dict(Counter((hour(d.scored_at), d.topic) for d in known_news()))


def test_sentiment_by_ticker(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    result = run(es_client, indexed, panels["finmon-sentiment-by-ticker"])
    buckets = result["aggregations"]["tickers"]["buckets"]
    docs = known_news()
    volume = Counter(t for d in docs for t in d.tickers)
    assert [b["key"] for b in buckets] == [t for t, _ in volume.most_common()] == ["ACME", "BOLT", "CRUX"]
    for bucket in buckets:
        mine = [d for d in docs if bucket["key"] in d.tickers]
        assert bucket["doc_count"] == len(mine)
        assert bucket["negative"]["doc_count"] == sum(d.sentiment == "negative" for d in mine)
        mean = sum(d.sentiment_score for d in mine) / len(mine)
        assert bucket["score"]["value"] == pytest.approx(mean, abs=1e-4)


def test_latest_negative_headlines(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    result = run(es_client, indexed, panels["finmon-negative-headlines"])
    hits = result["hits"]["hits"]
    negative = sorted((d for d in known_news() if d.sentiment == "negative"), key=lambda d: d.scored_at, reverse=True)
    assert [h["_id"] for h in hits] == [d.id for d in negative]
    assert hits[0]["_source"]["title"] == negative[0].title
    assert set(hits[0]["_source"]) <= set(HEADLINE_COLUMNS) and "topic" in hits[0]["_source"]


def test_alerts_timeline(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    result = run(es_client, indexed, panels["finmon-alerts-timeline"])
    got = {
        (epoch_hour(t["key"]), s["key"]): s["doc_count"]
        for t in result["aggregations"]["time"]["buckets"]
        for s in t["status"]["buckets"]
    }
    assert got == dict(Counter((hour(at), status) for status, at in ALERTS))


def test_negative_share_by_ticker(es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any) -> None:
    got = negative_shares(run(es_client, indexed, panels["finmon-ticker-negative-share"]))
    assert got == expected_shares(lambda doc: doc.tickers)


def test_alert_layers_read_the_alert_history(
    es_client: Elasticsearch, indexed: ElasticsearchSettings, panels: Any
) -> None:
    for layer in ("finmon-negative-share:1", "finmon-ticker-negative-share:1"):
        hits = run(es_client, indexed, panels[layer])["hits"]["hits"]
        assert [h["_source"]["at"] for h in hits] == sorted((at.isoformat() for _, at in ALERTS), reverse=True)
