"""The Kibana saved objects turned into what the page draws (pure): each Vega-Lite spec with its
Elasticsearch requests' Kibana parts substituted (index, `%context%`/`%timefield%`, `%timefilter%`, the
histogram interval, the news time field) and their answers inlined as `values`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.dashboard.timerange import Window
from monitor.kibana.objects import (
    ALERTS_VIEW_ID,
    DASHBOARD_ID,
    HEADLINES,
    NEWS_TIME,
    NEWS_VIEW_ID,
    NOW_PARAM,
    data_sources,
    panel_query,
    vega_spec,
)

Search = Callable[[str, dict[str, Any]], dict[str, Any]]  # (index, body) -> Elasticsearch response
HEADLINE_FIELDS = ["url", "sentiment"]


@dataclass(frozen=True)
class Target:
    """Where the page reads: the indices behind the Kibana data views, and the news time field."""

    news_index: str
    alerts_index: str
    time_field: str = NEWS_TIME


@dataclass(frozen=True)
class Panel:
    """One Vega panel of the Kibana dashboard, in the dashboard's order."""

    id: str
    title: str
    spec: dict[str, Any]


def _by_id(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in objects}


def vega_panels(objects: list[dict[str, Any]]) -> list[Panel]:
    """The dashboard's Vega visualizations, in the order of its references."""
    by_id = _by_id(objects)
    refs = by_id[DASHBOARD_ID]["references"]
    found = [by_id[r["id"]] for r in refs if r["type"] == "visualization"]
    return [Panel(o["id"], o["attributes"]["title"], vega_spec(o)) for o in found]


def index_names(objects: list[dict[str, Any]], target: Target) -> dict[str, str]:
    """The saved objects' index names (the data views' titles) -> the configured indices."""
    by_id = _by_id(objects)
    return {
        by_id[NEWS_VIEW_ID]["attributes"]["title"]: target.news_index,
        by_id[ALERTS_VIEW_ID]["attributes"]["title"]: target.alerts_index,
    }


def time_filter(field: str, window: Window) -> dict[str, Any]:
    start, end = window.bounds
    return {"range": {field: {"gte": start, "lte": end, "format": "strict_date_optional_time"}}}


def _timefilter_value(marker: Any, window: Window) -> Any:
    """Kibana's `{"%timefilter%": true|"min"|"max"}` placeholders."""
    start, end = window.bounds
    if marker is True:
        return {"gte": start, "lte": end, "format": "strict_date_optional_time"}
    return {"min": start, "max": end}[marker]


def _rewrite(node: Any, window: Window, histogram_fields: dict[str, str]) -> Any:
    """Placeholders replaced, date histograms on the window's interval (and on the page's time field)."""
    if isinstance(node, list):
        return [_rewrite(item, window, histogram_fields) for item in node]
    if not isinstance(node, dict):
        return node
    if "%timefilter%" in node:
        return _timefilter_value(node["%timefilter%"], window)
    out = {key: _rewrite(value, window, histogram_fields) for key, value in node.items()}
    if "date_histogram" in out:
        histogram = out["date_histogram"]
        histogram["field"] = histogram_fields.get(histogram["field"], histogram["field"])
        histogram.pop("interval", None)
        histogram["fixed_interval"] = window.interval
    return out


def es_request(
    url: dict[str, Any], window: Window, indices: dict[str, str], target: Target
) -> tuple[str, dict[str, Any]]:
    """(index, body) of a Vega data url as Kibana would send it for the window."""
    fields = {NEWS_TIME: target.time_field}
    body = _rewrite(copy.deepcopy(url.get("body", {})), window, fields)
    if url.get("%context%"):
        if "query" in body:
            raise ValueError("a %context% request must not carry its own query")
        timefield = url.get("%timefield%")
        filters = [time_filter(fields.get(timefield, timefield), window)] if timefield else []
        body["query"] = {"bool": {"filter": filters}}
    return indices.get(url["index"], url["index"]), body


def pluck(response: dict[str, Any], prop: str | None) -> Any:
    """Vega's `format.property`: a dotted path into the response ([] where it leads nowhere)."""
    value: Any = response
    for key in (prop or "").split(".") if prop else []:
        if not isinstance(value, dict) or key not in value:
            return []
        value = value[key]
    return value


def retitle(title: Any, window: Window) -> Any:
    """Titles name the window's interval instead of Kibana's hourly one."""
    return title.replace("hourly", window.words) if isinstance(title, str) else title


def _at_window_end(param: Any, window: Window) -> Any:
    """The charts' `now` is the page clock's (a replay's, `--now`'s), not the browser's."""
    if isinstance(param, dict) and param.get("name") == NOW_PARAM:
        return {"name": NOW_PARAM, "value": int(window.end.timestamp() * 1000)}
    return param


def resolve(
    spec: dict[str, Any], window: Window, indices: dict[str, str], target: Target, search: Search
) -> dict[str, Any]:
    """The spec with every Elasticsearch data source answered through `search` and inlined."""
    out = copy.deepcopy(spec)
    out["title"] = retitle(out.get("title"), window)
    if "params" in out:
        out["params"] = [_at_window_end(param, window) for param in out["params"]]
    for data in data_sources(out):
        index, body = es_request(data["url"], window, indices, target)
        values = pluck(search(index, body), data.get("format", {}).get("property"))
        data.clear()
        data["values"] = values
    return out


def headlines_request(objects: list[dict[str, Any]], window: Window, target: Target) -> tuple[str, dict[str, Any]]:
    """(index, body) of the saved search "Latest negative headlines" for the window, with links."""
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    search = next(o for o in objects if o["type"] == "search")
    query = panel_query(search, views)
    body = copy.deepcopy(query["body"])
    body["size"] = HEADLINES
    body["_source"] = [*body["_source"], *HEADLINE_FIELDS, target.time_field]
    body["sort"] = [{target.time_field: {"order": "desc"}}]
    body["query"]["bool"]["filter"].append(time_filter(target.time_field, window))
    return index_names(objects, target)[query["index"]], body


def safe_link(url: Any) -> str | None:
    """Only http(s) links reach the page (a feed's `javascript:` URL must not become a clickable link)."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def headline_rows(response: dict[str, Any], time_field: str) -> list[dict[str, Any]]:
    """The page's rows: time, title, link, topic, tickers, score, source."""
    rows = []
    for hit in pluck(response, "hits.hits"):
        source = hit.get("_source", {})
        rows.append(
            {
                "time": source.get(time_field),
                "title": source.get("title", ""),
                "url": safe_link(source.get("url")),
                "topic": source.get("topic"),
                "tickers": source.get("tickers", []),
                "score": source.get("sentiment_score"),
                "source": source.get("source"),
            }
        )
    return rows


MODEL_FIELDS = ("model_name", "model_version", "model_hash")


def _model_terms(level: int) -> dict[str, Any]:
    """Nested terms: name > version > hash."""
    terms: dict[str, Any] = {"terms": {"field": MODEL_FIELDS[level], "size": 20}}
    if level + 1 < len(MODEL_FIELDS):
        terms["aggs"] = {"next": _model_terms(level + 1)}
    return terms


def models_request(window: Window, target: Target) -> dict[str, Any]:
    """The models that scored the window's news (documents from before `model_hash` existed count too)."""
    query = {"bool": {"filter": [time_filter(target.time_field, window)]}}
    return {"size": 0, "query": query, "aggs": {"models": _model_terms(0)}}


def model_rows(response: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (name, version, hash) with its item count, most items first; hash None where the
    documents carry none."""
    rows: list[dict[str, Any]] = []
    for name in pluck(response, "aggregations.models.buckets"):
        for version in pluck(name, "next.buckets"):
            hashes = pluck(version, "next.buckets")
            rows.extend(_model_row(name, version, digest["key"], digest["doc_count"]) for digest in hashes)
            unhashed = version["doc_count"] - sum(h["doc_count"] for h in hashes)
            if unhashed > 0:
                rows.append(_model_row(name, version, None, unhashed))
    return sorted(rows, key=lambda row: -row["count"])


def _model_row(name: dict[str, Any], version: dict[str, Any], digest: str | None, count: int) -> dict[str, Any]:
    return {"name": name["key"], "version": str(version["key"]), "hash": digest, "count": count}
