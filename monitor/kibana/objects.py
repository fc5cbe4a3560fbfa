"""Kibana saved objects for finmon (data views, the "Market sentiment" dashboard and its panels) and the
Elasticsearch query behind each panel, from one definition (pure).

`finmon kibana build` writes them to `monitor/kibana/finmon.ndjson` (what `finmon kibana import` sends)
and `monitor/kibana/panels.json` (each panel's query, which the tests run against the ES-API servers).
Aggregation panels are Vega-Lite visualisations because a Vega spec carries its own Elasticsearch query
(Kibana injects the dashboard's time range and filters where the spec says `%context%`), so the query the
tests run is the one Kibana runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from monitor.kibana.shares import share_transforms
from monitor.stage_settings import ALERTS_INDEX, NEWS_INDEX

NEWS_VIEW_ID = "finmon-news-view"
ALERTS_VIEW_ID = "finmon-alerts-view"
DASHBOARD_ID = "finmon-market-sentiment"
NEWS_TIME = "scored_at"
ALERTS_TIME = "at"
TOP_TOPICS = 10
TOP_TICKERS = 15
TOP_TICKER_LINES = 5
ALERT_PERIODS = 500
HEADLINES = 50
INTERVAL = "1h"
HEADLINE_COLUMNS = ["title", "topic", "tickers", "sentiment_score", "source"]
MIGRATION = {"index-pattern": "7.11.0", "visualization": "7.10.0", "search": "7.9.3", "dashboard": "7.9.3"}
EMPTY_SEARCH = json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"
NOW_PARAM = "finmon_now"  # the share charts' "now" (ms): where a firing alert's shading ends


def _histogram(field: str) -> dict[str, Any]:
    return {"date_histogram": {"field": field, "fixed_interval": INTERVAL, "min_doc_count": 1}}


def _negative() -> dict[str, Any]:
    return {"filter": {"term": {"sentiment": "negative"}}}


def negative_share_body(field: str = "topic", size: int = TOP_TOPICS) -> dict[str, Any]:
    time = {**_histogram(NEWS_TIME), "aggs": {"negative": _negative()}}
    return {"size": 0, "aggs": {"topics": {"terms": {"field": field, "size": size}, "aggs": {"time": time}}}}


def alert_periods_body(scope: str) -> dict[str, Any]:
    """The newest alert events with what marks one scope kind's episodes (start, end, baseline). No query of
    its own: Kibana refuses one next to `%context%`, so the spec keeps the scope kind by a filter transform."""
    columns = ["fingerprint", "starts_at", "ends_at", "at", "baseline_share", "labels.scope", f"labels.{scope}"]
    return {"size": ALERT_PERIODS, "sort": [{ALERTS_TIME: {"order": "desc"}}], "_source": columns}


def volume_body() -> dict[str, Any]:
    topics = {"terms": {"field": "topic", "size": TOP_TOPICS}}
    return {"size": 0, "aggs": {"time": {**_histogram(NEWS_TIME), "aggs": {"topics": topics}}}}


def tickers_body() -> dict[str, Any]:
    sub = {"score": {"avg": {"field": "sentiment_score"}}, "negative": _negative()}
    terms = {"field": "tickers", "size": TOP_TICKERS, "order": {"_count": "desc"}}
    return {"size": 0, "aggs": {"tickers": {"terms": terms, "aggs": sub}}}


def alerts_body() -> dict[str, Any]:
    status = {"terms": {"field": "status", "size": 5}}
    return {"size": 0, "aggs": {"time": {**_histogram(ALERTS_TIME), "aggs": {"status": status}}}}


def _data(index: str, timefield: str, body: dict[str, Any], prop: str) -> dict[str, Any]:
    url = {"%context%": True, "%timefield%": timefield, "index": index, "body": body}
    return {"url": url, "format": {"property": prop}}


def _vega(index: str, timefield: str, body: dict[str, Any], buckets: str, rest: dict[str, Any]) -> dict[str, Any]:
    data = _data(index, timefield, body, f"aggregations.{buckets}.buckets")
    return {"$schema": VEGA_LITE, "data": data, "width": "container", "height": "container", **rest}


def _share_layer(news_index: str, field: str, size: int, name: str) -> dict[str, Any]:
    """Negative share per `field` value (topic or ticker) and interval, one line each: shrunk towards the
    series' baseline (a point of one or two news no longer swings 0-100%), its Wilson 90% interval as a band,
    points sized by their news count, the counts in the tooltip (monitor/kibana/shares.py)."""
    x = {"field": "time", "type": "temporal", "title": None}
    color = {"field": "key", "type": "nominal", "title": name}
    y = {
        "field": "negative_share",
        "type": "quantitative",
        "axis": {"format": "%"},
        "scale": {"domain": [0, 1]},
        "title": "negative (shrunk; band: 90% interval)",
    }
    return {
        "data": _data(news_index, NEWS_TIME, negative_share_body(field, size), "aggregations.topics.buckets"),
        "transform": [
            {"flatten": ["time.buckets"], "as": ["t"]},
            {"calculate": "datum.t.key", "as": "time"},
            {"calculate": "datum.t.negative.doc_count", "as": "negative"},
            {"calculate": "datum.t.doc_count", "as": "total"},
            *share_transforms(),
        ],
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.07},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                    "color": color,
                },
            },
            {"mark": {"type": "line"}, "encoding": {"x": x, "y": y, "color": color}},
            {
                "mark": {"type": "circle", "opacity": 0.9},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": color,
                    "size": {"field": "total", "type": "quantitative", "title": "news", "scale": {"range": [12, 160]}},
                    "tooltip": [
                        {"field": "key", "title": name},
                        {"field": "time", "type": "temporal"},
                        {"field": "negative", "title": "negative news"},
                        {"field": "total", "title": "news"},
                        {"field": "raw_share", "title": "negative share", "format": ".0%"},
                        {"field": "negative_share", "title": "shrunk to baseline", "format": ".0%"},
                        {"field": "low", "title": "90% from", "format": ".0%"},
                        {"field": "high", "title": "90% to", "format": ".0%"},
                        {"field": "baseline", "title": "baseline", "format": ".0%"},
                    ],
                },
            },
        ],
    }


def _alert_layer(alerts_index: str, scope: str) -> dict[str, Any]:
    """Each alert episode of the scope kind: its firing period shaded, its baseline share as a dashed rule."""
    source = "datum._source"
    return {
        "data": _data(alerts_index, ALERTS_TIME, alert_periods_body(scope), "hits.hits"),
        "transform": [
            {"filter": f"{source}.labels.scope === '{scope}'"},
            {"calculate": f"{source}.fingerprint + '@' + {source}.starts_at", "as": "episode"},
            {"calculate": f"{source}.labels.{scope}", "as": "key"},
            {"calculate": f"time({source}.starts_at)", "as": "start"},
            {"calculate": f"{source}.ends_at ? time({source}.ends_at) : null", "as": "ended"},
            {"calculate": f"{source}.baseline_share", "as": "baseline"},
            {
                "aggregate": [
                    {"op": "min", "field": "start", "as": "start"},
                    {"op": "max", "field": "ended", "as": "ended"},
                    {"op": "max", "field": "baseline", "as": "baseline"},
                ],
                "groupby": ["episode", "key"],
            },
            # an episode with no end yet is still firing: shaded up to now
            {"calculate": f"isValid(datum.ended) ? datum.ended : {NOW_PARAM}", "as": "end"},
            {"calculate": "toDate(datum.start)", "as": "from"},
            {"calculate": "toDate(datum.end)", "as": "to"},
        ],
        "layer": [
            {
                "mark": {"type": "rect", "color": "#bd271e", "opacity": 0.12},
                "encoding": {
                    "x": {"field": "from", "type": "temporal"},
                    "x2": {"field": "to"},
                    "tooltip": [
                        {"field": "key", "title": f"firing: {scope}"},
                        {"field": "from", "type": "temporal"},
                        {"field": "to", "type": "temporal"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2},
                "encoding": {
                    "x": {"field": "from", "type": "temporal"},
                    "x2": {"field": "to"},
                    "y": {"field": "baseline", "type": "quantitative"},
                    "color": {"field": "key", "type": "nominal"},
                    "tooltip": [{"field": "key", "title": scope}, {"field": "baseline", "format": ".0%"}],
                },
            },
        ],
    }


def _share_spec(news_index: str, alerts_index: str, title: str, field: str, size: int, scope: str) -> dict[str, Any]:
    layers = [_share_layer(news_index, field, size, scope), _alert_layer(alerts_index, scope)]
    now = [{"name": NOW_PARAM, "expr": "now()"}]  # finmon's page sets it to its own clock's now
    return {
        "$schema": VEGA_LITE,
        "title": title,
        "width": "container",
        "height": "container",
        "params": now,
        "layer": layers,
    }


def negative_share_spec(index: str, alerts_index: str = ALERTS_INDEX) -> dict[str, Any]:
    title = "Negative share by topic (hourly, shrunk; 90% band; alerts shaded)"
    return _share_spec(index, alerts_index, title, "topic", TOP_TOPICS, "topic")


def ticker_share_spec(index: str, alerts_index: str = ALERTS_INDEX) -> dict[str, Any]:
    title = f"Negative share of the {TOP_TICKER_LINES} busiest tickers (hourly, shrunk; 90% band; alerts shaded)"
    return _share_spec(index, alerts_index, title, "tickers", TOP_TICKER_LINES, "ticker")


def volume_spec(index: str) -> dict[str, Any]:
    return _vega(
        index,
        NEWS_TIME,
        volume_body(),
        "time",
        {
            "title": "News volume by topic (hourly)",
            "transform": [
                {"flatten": ["topics.buckets"], "as": ["t"]},
                {"calculate": "datum.t.key", "as": "topic"},
                {"calculate": "datum.t.doc_count", "as": "count"},
            ],
            "mark": "bar",
            "encoding": {
                "x": {"field": "key", "type": "temporal", "title": None},
                "y": {"field": "count", "type": "quantitative", "stack": "zero", "title": "news items"},
                "color": {"field": "topic", "type": "nominal"},
                "tooltip": [{"field": "topic"}, {"field": "key", "type": "temporal"}, {"field": "count"}],
            },
        },
    )


def tickers_spec(index: str) -> dict[str, Any]:
    return _vega(
        index,
        NEWS_TIME,
        tickers_body(),
        "tickers",
        {
            "title": f"Sentiment by ticker (top {TOP_TICKERS} by volume)",
            "transform": [
                {"calculate": "datum.score.value", "as": "score"},
                {"calculate": "datum.negative.doc_count / datum.doc_count", "as": "negative_share"},
            ],
            "mark": "bar",
            "encoding": {
                "y": {"field": "key", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": "score", "type": "quantitative", "scale": {"domain": [-1, 1]}, "title": "mean score"},
                "color": {"field": "score", "type": "quantitative", "scale": {"scheme": "redyellowgreen"}},
                "tooltip": [
                    {"field": "key", "title": "ticker"},
                    {"field": "doc_count", "title": "volume"},
                    {"field": "score", "format": ".2f"},
                    {"field": "negative_share", "format": ".0%"},
                ],
            },
        },
    )


def alerts_spec(index: str) -> dict[str, Any]:
    return _vega(
        index,
        ALERTS_TIME,
        alerts_body(),
        "time",
        {
            "title": "Alerts timeline (state changes per hour)",
            "transform": [
                {"flatten": ["status.buckets"], "as": ["s"]},
                {"calculate": "datum.s.key", "as": "status"},
                {"calculate": "datum.s.doc_count", "as": "count"},
            ],
            "mark": "bar",
            "encoding": {
                "x": {"field": "key", "type": "temporal", "title": None},
                "y": {"field": "count", "type": "quantitative", "title": "alert events"},
                "color": {
                    "field": "status",
                    "type": "nominal",
                    "scale": {"domain": ["firing", "resolved"], "range": ["#bd271e", "#54b399"]},
                },
            },
        },
    )


def _object(kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": object_id,
        "type": kind,
        "attributes": attributes,
        "references": references,
        "migrationVersion": {kind: MIGRATION[kind]},
    }


def data_view(object_id: str, title: str, time_field: str) -> dict[str, Any]:
    return _object("index-pattern", object_id, {"title": title, "timeFieldName": time_field}, [])


def vega_visualization(object_id: str, title: str, spec: dict[str, Any]) -> dict[str, Any]:
    vis_state = {"title": title, "type": "vega", "aggs": [], "params": {"spec": json.dumps(spec, indent=2)}}
    attributes = {
        "title": title,
        "description": "",
        "visState": json.dumps(vis_state),
        "uiStateJSON": "{}",
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": EMPTY_SEARCH},
    }
    return _object("visualization", object_id, attributes, [])


def headlines_search(object_id: str) -> dict[str, Any]:
    source = {
        "query": {"query": "sentiment:negative", "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    attributes = {
        "title": "Latest negative headlines",
        "description": "",
        "columns": HEADLINE_COLUMNS,
        "sort": [[NEWS_TIME, "desc"]],
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
    }
    ref = {"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": NEWS_VIEW_ID}
    return _object("search", object_id, attributes, [ref])


# (saved object id, grid x, y, w, h) of each dashboard panel, in reading order
LAYOUT = [
    ("finmon-negative-share", 0, 0, 24, 15),
    ("finmon-ticker-negative-share", 24, 0, 24, 15),
    ("finmon-volume-by-topic", 0, 15, 24, 15),
    ("finmon-sentiment-by-ticker", 24, 15, 24, 15),
    ("finmon-alerts-timeline", 0, 30, 20, 18),
    ("finmon-negative-headlines", 20, 30, 28, 18),
]


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = {p["id"]: p["type"] for p in panels}
    grid = []
    references = []
    for n, (object_id, x, y, w, h) in enumerate(LAYOUT):
        ref = f"panel_{n}"
        grid.append(
            {
                "version": "8.15.0",
                "type": kinds[object_id],
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n + 1)},
                "panelIndex": str(n + 1),
                "embeddableConfig": {},
                "panelRefName": ref,
            }
        )
        references.append({"name": ref, "type": kinds[object_id], "id": object_id})
    attributes = {
        "title": "Market sentiment",
        "description": "finmon: negative news share, volume, tickers, negative headlines and alerts",
        "panelsJSON": json.dumps(grid),
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": True, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-24h",
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": EMPTY_SEARCH},
    }
    return _object("dashboard", DASHBOARD_ID, attributes, references)


def saved_objects(news_index: str = NEWS_INDEX, alerts_index: str = ALERTS_INDEX) -> list[dict[str, Any]]:
    """Data views first, then panels, then the dashboard (Kibana resolves references within one import)."""
    panels = [
        vega_visualization(
            "finmon-negative-share", "Negative share by topic", negative_share_spec(news_index, alerts_index)
        ),
        vega_visualization(
            "finmon-ticker-negative-share", "Negative share by ticker", ticker_share_spec(news_index, alerts_index)
        ),
        vega_visualization("finmon-volume-by-topic", "News volume by topic", volume_spec(news_index)),
        vega_visualization("finmon-sentiment-by-ticker", "Sentiment by ticker", tickers_spec(news_index)),
        headlines_search("finmon-negative-headlines"),
        vega_visualization("finmon-alerts-timeline", "Alerts timeline", alerts_spec(alerts_index)),
    ]
    views = [data_view(NEWS_VIEW_ID, news_index, NEWS_TIME), data_view(ALERTS_VIEW_ID, alerts_index, ALERTS_TIME)]
    return [*views, *panels, dashboard(panels)]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in objects)


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


KQL_TERM = re.compile(r"^\s*([\w.]+)\s*:\s*\"?([^\"\s]+)\"?\s*$")


def kql_filter(kql: str) -> list[dict[str, Any]]:
    """The `term` filters of a KQL query made of `field:value` clauses joined by `and` (all finmon uses)."""
    if not kql.strip():
        return []
    filters = []
    for clause in re.split(r"\s+and\s+", kql, flags=re.IGNORECASE):
        match = KQL_TERM.match(clause)
        if match is None:
            raise ValueError(f"unsupported KQL clause {clause!r}")
        filters.append({"term": {match.group(1): match.group(2)}})
    return filters


def panel_query(obj: dict[str, Any], views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Elasticsearch request behind one panel: {"index", "timefield", "body"}, time range left out
    (Kibana adds it as a range filter on `timefield`, as the tests do)."""
    attributes = obj["attributes"]
    if obj["type"] == "visualization":
        return url_query(data_urls(vega_spec(obj))[0])
    source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
    ref = next(r for r in obj["references"] if r["name"] == source["indexRefName"])
    view = views[ref["id"]]["attributes"]
    field, order = attributes["sort"][0]
    body = {
        "size": HEADLINES,
        "query": {"bool": {"filter": kql_filter(source["query"]["query"])}},
        "sort": [{field: {"order": order}}],
        "_source": attributes["columns"],
    }
    return {"index": view["title"], "timefield": view["timeFieldName"], "body": body}


def vega_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The Vega(-Lite) spec a visualization saved object carries."""
    return dict(json.loads(json.loads(obj["attributes"]["visState"])["params"]["spec"]))


def data_sources(spec: Any) -> list[dict[str, Any]]:
    """Every `data` object of a spec (top level and layers, in document order) whose `url` is an
    Elasticsearch request (an object with an `index`)."""
    found: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("url"), dict) and "index" in data["url"]:
            found.append(data)
        for key, value in spec.items():
            if key != "data":
                found += data_sources(value)
    elif isinstance(spec, list):
        for item in spec:
            found += data_sources(item)
    return found


def data_urls(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [data["url"] for data in data_sources(spec)]


def url_query(url: dict[str, Any]) -> dict[str, Any]:
    """A Vega data url's request: {"index", "timefield", "body"}."""
    return {"index": url["index"], "timefield": url["%timefield%"], "body": url["body"]}


def panel_queries(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each dashboard panel's request, by saved object id; a Vega panel's further data sources (alert
    layers) follow as `<id>:<n>`."""
    by_id = {o["id"]: o for o in objects}
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    queries: dict[str, dict[str, Any]] = {}
    for ref in by_id[DASHBOARD_ID]["references"]:
        obj = by_id[ref["id"]]
        queries[ref["id"]] = panel_query(obj, views)
        if obj["type"] == "visualization":
            for n, url in enumerate(data_urls(vega_spec(obj))[1:], start=1):
                queries[f"{ref['id']}:{n}"] = url_query(url)
    return queries
