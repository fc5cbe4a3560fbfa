"""The substitution of the Kibana parts of the shipped specs, on the real shipped saved objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.dashboard.data import shipped_objects
from monitor.dashboard.specs import (
    Target,
    es_request,
    headline_rows,
    headlines_request,
    index_names,
    pluck,
    resolve,
    vega_panels,
)
from monitor.dashboard.timerange import window
from monitor.kibana.objects import LAYOUT, data_urls

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
WIN = window("1h", NOW)
TARGET = Target("news-x", "alerts-x", "published_at")
RANGE = {"gte": "2026-11-20T20:00:00Z", "lte": "2026-11-20T21:00:00Z", "format": "strict_date_optional_time"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return shipped_objects()


def test_panels_are_the_dashboards_vega_visualizations_in_order(objects: list[dict[str, Any]]) -> None:
    panels = vega_panels(objects)
    assert [p.id for p in panels] == [pid for pid, *_ in LAYOUT if pid != "finmon-negative-headlines"]
    assert all(p.spec["$schema"].endswith("vega-lite/v5.json") for p in panels)


def test_a_context_request_gets_the_index_time_filter_interval_and_time_field(objects: list[dict[str, Any]]) -> None:
    indices = index_names(objects, TARGET)
    assert indices == {"finmon-news": "news-x", "finmon-alerts": "alerts-x"}
    share = data_urls(vega_panels(objects)[0].spec)
    index, body = es_request(share[0], WIN, indices, TARGET)
    assert index == "news-x"
    assert body["query"] == {"bool": {"filter": [{"range": {"published_at": RANGE}}]}}
    histogram = body["aggs"]["topics"]["aggs"]["time"]["date_histogram"]
    assert histogram == {"field": "published_at", "fixed_interval": "5m", "min_doc_count": 1}
    index, body = es_request(share[1], WIN, indices, TARGET)  # the alert layer keeps its own time field
    assert index == "alerts-x" and body["query"] == {"bool": {"filter": [{"range": {"at": RANGE}}]}}


def test_timefilter_placeholders_and_a_query_next_to_context() -> None:
    latest = {"max": {"field": {"%timefilter%": "max"}}}
    body = {"query": {"range": {"at": {"%timefilter%": True}}}, "aggs": {"x": latest}}
    _, out = es_request({"index": "i", "body": body}, WIN, {}, TARGET)
    assert out["query"] == {"range": {"at": RANGE}} and out["aggs"]["x"]["max"]["field"] == "2026-11-20T21:00:00Z"
    with pytest.raises(ValueError, match="must not carry its own query"):
        es_request({"index": "i", "%context%": True, "body": {"query": {}}}, WIN, {}, TARGET)


def test_pluck_follows_format_property() -> None:
    assert pluck({"aggregations": {"t": {"buckets": [1]}}}, "aggregations.t.buckets") == [1]
    assert pluck({}, "aggregations.t.buckets") == [] and pluck({"a": 1}, None) == {"a": 1}


def test_resolve_inlines_each_answer_and_leaves_the_kibana_spec_alone(objects: list[dict[str, Any]]) -> None:
    panel = vega_panels(objects)[1]
    before = json.dumps(panel.spec, sort_keys=True)
    asked: list[str] = []

    def search(index: str, body: dict[str, Any]) -> dict[str, Any]:
        asked.append(index)
        buckets = {"aggregations": {"topics": {"buckets": ["news"]}}}
        return buckets if index == "news-x" else {"hits": {"hits": ["alert"]}}

    spec = resolve(panel.spec, WIN, index_names(objects, TARGET), TARGET, search)
    assert asked == ["news-x", "alerts-x"]
    assert spec["layer"][0]["data"] == {"values": ["news"]} and spec["layer"][1]["data"] == {"values": ["alert"]}
    assert "per 5 minutes" in spec["title"] and "hourly" not in spec["title"]
    assert json.dumps(panel.spec, sort_keys=True) == before


def test_headlines_are_the_saved_search_with_links_in_the_window(objects: list[dict[str, Any]]) -> None:
    index, body = headlines_request(objects, WIN, TARGET)
    assert index == "news-x" and body["size"] == 50
    assert body["query"]["bool"]["filter"] == [{"term": {"sentiment": "negative"}}, {"range": {"published_at": RANGE}}]
    assert body["sort"] == [{"published_at": {"order": "desc"}}] and {"url", "title"} <= set(body["_source"])
    hit = {"_source": {"title": "t", "url": "https://e.example/1", "published_at": "x", "tickers": ["A"]}}
    (row,) = headline_rows({"hits": {"hits": [hit]}}, "published_at")
    assert row["url"] == "https://e.example/1" and row["time"] == "x" and row["tickers"] == ["A"]
    hostile = {"_source": {"title": "t", "url": "javascript:alert(1)"}}
    assert headline_rows({"hits": {"hits": [hostile]}}, "published_at")[0]["url"] is None


def test_a_firing_alert_is_shaded_up_to_the_pages_now(objects: list[dict[str, Any]]) -> None:
    """The share charts' alert layer in a real Vega runtime: an episode with no end yet runs to the window's
    end (the page clock's now), a resolved one to its end."""
    vl_convert = pytest.importorskip("vl_convert", reason="vl-convert-python is in the dev extra")
    labels = {"scope": "topic", "topic": "Earnings"}
    firing = {"fingerprint": "f", "starts_at": "2026-11-20T20:10:00Z", "ends_at": None, "at": "2026-11-20T20:15:00Z"}
    over = {"fingerprint": "o", "starts_at": "2026-11-20T20:05:00Z", "ends_at": "2026-11-20T20:20:00Z"}
    hits = [{"_source": {**firing, "labels": labels}}, {"_source": {**over, "at": over["ends_at"], "labels": labels}}]

    def search(index: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"hits": {"hits": hits}} if index == "alerts-x" else {}

    spec = resolve(vega_panels(objects)[0].spec, WIN, index_names(objects, TARGET), TARGET, search)
    assert spec["params"] == [{"name": "finmon_now", "value": int(NOW.timestamp() * 1000)}]
    alerts = spec["layer"][1]
    ends = {
        "params": spec["params"],
        "data": alerts["data"],
        "transform": alerts["transform"],
        "mark": "text",
        "encoding": {"y": {"field": "episode", "type": "nominal"}, "text": {"field": "end", "format": "d"}},
    }
    svg = vl_convert.vegalite_to_svg(ends, vl_version="5.20")
    assert f">{int(NOW.timestamp() * 1000)}<" in svg  # the firing one: to now, not to its last evaluation
    ended = int(datetime(2026, 11, 20, 20, 20, tzinfo=UTC).timestamp() * 1000)
    assert f">{ended}<" in svg
