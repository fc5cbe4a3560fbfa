"""The shipped saved objects: they parse, are up to date, every reference resolves, and every field a panel
uses exists in finmon's index templates with a type the panel can use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.alert_indices import HISTORY_MAPPING
from monitor.kibana import PANELS, shipped
from monitor.kibana.objects import (
    DASHBOARD_ID,
    data_sources,
    kql_filter,
    panel_queries,
    parse_ndjson,
    saved_objects,
    to_ndjson,
    vega_spec,
)
from monitor.store.mappings import NEWS_MAPPING, field_types

NUMERIC = {"float", "double", "integer", "long", "half_float", "scaled_float"}
TYPES = {"news": field_types(NEWS_MAPPING), "alerts": field_types(HISTORY_MAPPING)}


def shipped_objects() -> list[dict[str, Any]]:
    return parse_ndjson(shipped().read_text(encoding="utf-8"))


def mapping_of(index: str) -> dict[str, str]:
    return TYPES["alerts"] if "alerts" in index else TYPES["news"]


def test_shipped_files_are_what_the_definitions_build() -> None:
    """`finmon kibana build` has been run after the last change to monitor/kibana/objects.py."""
    assert shipped().read_text(encoding="utf-8") == to_ndjson(saved_objects())
    assert json.loads(shipped(PANELS).read_text(encoding="utf-8")) == panel_queries(saved_objects())


def test_every_line_is_a_saved_object_with_a_unique_id() -> None:
    objects = shipped_objects()
    assert [o["type"] for o in objects].count("index-pattern") == 2
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    for obj in objects:
        assert {"id", "type", "attributes", "references"} <= obj.keys() and obj["attributes"]["title"]


def test_every_reference_resolves_to_an_object_of_its_type() -> None:
    objects = shipped_objects()
    known = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in known, f"{obj['id']} -> {ref}"
    board = next(o for o in objects if o["id"] == DASHBOARD_ID)
    names = {r["name"] for r in board["references"]}
    panels = json.loads(board["attributes"]["panelsJSON"])
    assert len(panels) == 6 and {p["panelRefName"] for p in panels} == names
    for obj in objects:
        source = json.loads(obj["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
        if "indexRefName" in source:
            assert source["indexRefName"] in {r["name"] for r in obj["references"]}


def test_vega_specs_are_json_with_a_context_query() -> None:
    for obj in shipped_objects():
        if obj["type"] == "visualization":
            sources = data_sources(vega_spec(obj))
            assert sources and all(data["url"]["%context%"] is True for data in sources)
            assert sources[0]["format"]["property"].startswith("aggregations.")
            assert all(data["format"]["property"] == "hits.hits" for data in sources[1:])


def walk_aggs(aggs: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for agg in aggs.values():
        for kind, params in agg.items():
            if kind == "aggs":
                yield from walk_aggs(params)
            else:
                yield kind, params


def used_fields(query: dict[str, Any]) -> Iterator[tuple[str, set[str]]]:
    """(field, acceptable mapping types) for each field a panel's request touches."""
    body = query["body"]
    yield query["timefield"], {"date"}
    for kind, params in walk_aggs(body.get("aggs", {})):
        if kind == "date_histogram":
            yield params["field"], {"date"}
        elif kind == "terms":
            yield params["field"], {"keyword"}
        elif kind == "avg":
            yield params["field"], NUMERIC
        elif kind == "filter":
            (field,) = params["term"]
            yield field, {"keyword"}
        else:
            raise AssertionError(f"no type rule for aggregation {kind}")
    for clause in body.get("query", {}).get("bool", {}).get("filter", []):
        (field,) = clause["term"]
        yield field, {"keyword"}
    for sort in body.get("sort", []):
        (field,) = sort
        yield field, {"date"} | NUMERIC | {"keyword"}
    for column in body.get("_source", []):
        yield column, {"text", "keyword", "date"} | NUMERIC


def test_every_field_a_panel_uses_exists_with_a_usable_type() -> None:
    queries = panel_queries(shipped_objects())
    assert len(queries) == 8  # 6 panels, 2 of them with an alert-history layer
    for panel, query in queries.items():
        types = mapping_of(query["index"])
        for field, allowed in used_fields(query):
            assert field in types, f"{panel}: {field} is not in the {query['index']} template"
            assert types[field] in allowed, f"{panel}: {field} is {types[field]}, needs one of {allowed}"


def test_data_view_time_fields_are_dates() -> None:
    for obj in shipped_objects():
        if obj["type"] == "index-pattern":
            attributes = obj["attributes"]
            assert mapping_of(attributes["title"])[attributes["timeFieldName"]] == "date"


def test_kql_filters() -> None:
    assert kql_filter('sentiment:negative and topic:"M&A"') == [
        {"term": {"sentiment": "negative"}},
        {"term": {"topic": "M&A"}},
    ]
    assert kql_filter("") == []
    with pytest.raises(ValueError, match="unsupported"):
        kql_filter("title:(a or b)")
