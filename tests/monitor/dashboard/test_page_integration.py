"""The dashboard on both ES-API servers over the demo feed (scored by a fixed rule, with the alert history of
its burst): finmon's answers, every Kibana spec rendered by a real Vega runtime (vl-convert), and the page
rendered by headless Chromium."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from monitor.app import cli
from monitor.app.indices import index_specs
from monitor.app.settings import Settings
from monitor.dashboard.browser import find_chromium
from monitor.dashboard.data import DashboardData
from monitor.dashboard.page import dashboard, target_of
from monitor.dashboard.specs import Target
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client
from monitor.store.es_setup import run_setup
from monitor.store.mappings import NEWS_MAPPING
from tests.support.browser_pages import drawn_marks, dump_dom
from tests.support.documents import es_document
from tests.support.news_index import news_sink
from tests.support.sinks import encoded

from .demo_data import NOW, demo_alerts, demo_news

pytestmark = pytest.mark.integration

# the marks each panel must draw over the demo data: (Vega mark type, at least this many items)
EXPECTED_MARKS = {
    "finmon-negative-share": [("line", 4), ("symbol", 20), ("rect", 1), ("rule", 1)],
    "finmon-ticker-negative-share": [("line", 1), ("symbol", 5), ("rect", 1), ("rule", 1)],
    "finmon-volume-by-topic": [("rect", 20)],
    "finmon-sentiment-by-ticker": [("rect", 15)],
    "finmon-alerts-timeline": [("rect", 2)],
}


def assert_marks(panel: str, counts: Counter[str]) -> None:
    for kind, least in EXPECTED_MARKS[panel]:
        assert counts[kind] >= least, f"{panel}: {counts[kind]} {kind} marks drawn, expected at least {least}"


@pytest.fixture
def demo_settings(es_settings: ElasticsearchSettings, unique: str) -> Iterator[tuple[Settings, Elasticsearch]]:
    es = es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})
    client = make_client(es)
    run_setup(client, es, index_specs(es))
    assert news_sink(client, es.news_index).write(encoded(demo_news())) == []
    for n, document in enumerate(demo_alerts()):
        client.index(index=es.alerts_index, id=f"a{n}", document=document)
    client.indices.refresh(index=[es.news_index, es.alerts_index])
    yield Settings(es=es, dashboard={"time_field": "published_at"}), client
    client.indices.delete(index=[es.news_index, es.alerts_index])
    client.close()


def charts_by_id(settings: Settings, client: Elasticsearch, range_name: str) -> dict[str, dict[str, Any]]:
    data = DashboardData(client, target_of(settings.es, settings.dashboard), lambda: NOW)
    return {panel["id"]: panel["spec"] for panel in data.charts(range_name)["panels"]}


def test_finmon_answers_the_kibana_requests_for_the_window(demo_settings: tuple[Settings, Elasticsearch]) -> None:
    settings, client = demo_settings
    news = demo_news()
    specs = charts_by_id(settings, client, "24h")
    share = specs["finmon-negative-share"]["layer"]
    got = {
        (b["key"], t["key"]): (t["negative"]["doc_count"], t["doc_count"])
        for b in share[0]["data"]["values"]
        for t in b["time"]["buckets"]
    }
    want: Counter[tuple[str, int]] = Counter()
    negative: Counter[tuple[str, int]] = Counter()
    for item in news:
        hour = int(item.published_at.replace(minute=0).timestamp() * 1000)
        want[(item.topic, hour)] += 1
        negative[(item.topic, hour)] += item.sentiment == "negative"
    assert got == {key: (negative[key], count) for key, count in want.items()}
    assert len(share[1]["data"]["values"]) == len(demo_alerts())
    tickers = [b["key"] for b in specs["finmon-ticker-negative-share"]["layer"][0]["data"]["values"]]
    assert tickers[0] == "NWSC" and len(tickers) == 5


def test_the_short_range_holds_only_its_last_hour(demo_settings: tuple[Settings, Elasticsearch]) -> None:
    settings, client = demo_settings
    data = DashboardData(client, target_of(settings.es, settings.dashboard), lambda: NOW)
    volume = {p["id"]: p["spec"] for p in data.charts("1h")["panels"]}["finmon-volume-by-topic"]
    in_hour = [n for n in demo_news() if NOW - timedelta(hours=1) <= n.published_at <= NOW]
    assert sum(b["doc_count"] for b in volume["data"]["values"]) == len(in_hour)
    rows = data.headlines("1h")["headlines"]
    assert len(rows) == sum(n.sentiment == "negative" for n in in_hour) > 0
    assert all(row["url"].startswith("https://") for row in rows)
    assert [row["time"] for row in rows] == sorted((row["time"] for row in rows), reverse=True)


def test_every_kibana_spec_renders_in_a_vega_runtime(demo_settings: tuple[Settings, Elasticsearch]) -> None:
    vl_convert = pytest.importorskip("vl_convert", reason="vl-convert-python is in the dev extra")
    settings, client = demo_settings
    for panel, spec in charts_by_id(settings, client, "24h").items():
        svg = vl_convert.vegalite_to_svg({**spec, "width": 600, "height": 260}, vl_version="5.20")
        assert_marks(panel, drawn_marks(svg))


def chart_sections(dom: str) -> dict[str, str]:
    parts = re.split(r'<div id="chart-([\w-]+)"', dom.split('<section id="alerts-panel"')[0])
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_page_renders_in_headless_chromium(demo_settings: tuple[Settings, Elasticsearch]) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install -y chromium)")
    settings, client = demo_settings
    with dashboard(settings.dashboard, settings.es, client, lambda: NOW, port=0) as url:
        run = dump_dom(url)
    assert 'data-state="ready"' in run.stdout, run.stdout[:2000]
    assert re.search(r'<pre id="errors">\s*</pre>', run.stdout), run.stdout
    assert [m for level, m in run.console if level != "INFO" or "WARN" in m or "rror" in m] == []
    sections = chart_sections(run.stdout)
    assert set(sections) == set(EXPECTED_MARKS)
    for panel, html in sections.items():
        assert_marks(panel, drawn_marks(html))
    negative = sum(n.sentiment == "negative" for n in demo_news())
    assert run.stdout.count('<a href="https://') == min(negative, 50)
    assert run.stdout.count('<tr class="resolved"') == 2  # the alerts table: both demo episodes, over
    assert "Alertmanager not configured" in run.stdout
    assert re.search(r'<span class="item unknown" data-name="workers"[^>]*>workers: unknown', run.stdout), run.stdout


def test_an_alerts_link_focuses_the_page_on_its_scope(demo_settings: tuple[Settings, Elasticsearch]) -> None:
    """generatorURL of a pushed alert: ?scope=ticker&ticker=NWSC draws that ticker's line alone."""
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install -y chromium)")
    settings, client = demo_settings
    hostile = {**demo_alerts()[0], "fingerprint": "hostile", "summary": '<img src=x onerror="alert(1)">'}
    client.index(index=settings.es.alerts_index, id="hostile", document=hostile, refresh=True)
    with dashboard(settings.dashboard, settings.es, client, lambda: NOW, port=0) as url:
        run = dump_dom(url + "?scope=ticker&ticker=NWSC&range=24h")
    assert "&lt;img src=x onerror" in run.stdout and "<img src" not in run.stdout  # hostile text stays text
    assert 'data-state="ready"' in run.stdout and re.search(r'<pre id="errors">\s*</pre>', run.stdout), run.stdout
    assert "focused on ticker NWSC" in run.stdout
    sections = chart_sections(run.stdout)
    assert drawn_marks(sections["finmon-ticker-negative-share"])["line"] == 1
    assert drawn_marks(sections["finmon-negative-share"])["line"] >= 4  # the other scope kind: untouched
    assert '<tr class="resolved focus"' in run.stdout  # its alert row highlighted


def test_finmon_dashboard_screenshot(
    demo_settings: tuple[Settings, Elasticsearch], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install -y chromium)")
    settings, _ = demo_settings
    es = settings.es
    for name, value in {
        "URLS": ",".join(es.urls),
        "PLAIN_JSON": str(es.plain_json).lower(),
        "NEWS_INDEX": es.news_index,
        "ALERTS_INDEX": es.alerts_index,
    }.items():
        monkeypatch.setenv(f"FINMON_ES__{name}", value)
    out = tmp_path / "page.png"
    argv = ["dashboard", "--now", NOW.isoformat(), "--time-field", "published_at", "--screenshot", str(out)]
    assert cli.main([*argv, "--size", "800x600"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_models_that_scored_the_range(demo_settings: tuple[Settings, Elasticsearch], unique: str) -> None:
    settings, client = demo_settings
    data = DashboardData(client, target_of(settings.es, settings.dashboard), lambda: NOW)
    in_day = [n for n in demo_news() if NOW - timedelta(hours=24) <= n.published_at <= NOW]
    [row] = data.models("24h")["models"]
    assert (row["name"], row["hash"], row["count"]) == ("rule", None, len(in_day))  # before model_hash existed
    # an adapted model deployed mid-range: its documents carry a content hash, the older ones none
    index = f"models-{unique}"
    mapping = {"properties": {**NEWS_MAPPING["properties"], "model_hash": {"type": "keyword"}}}
    client.indices.create(index=index, mappings=mapping)
    old, new = in_day[:3], in_day[3:8]
    for item in old + new:
        document = es_document(item)
        if item in new:
            document.update(model_name="finmon-adapted", model_version="3", model_hash="ab12cd34")
        client.index(index=index, id=item.id, document=document)
    client.indices.refresh(index=index)
    mixed = DashboardData(client, Target(index, settings.es.alerts_index, "published_at"), lambda: NOW)
    rows = [(r["name"], r["version"], r["hash"], r["count"]) for r in mixed.models("24h")["models"]]
    client.indices.delete(index=index)
    assert rows == [("finmon-adapted", "3", "ab12cd34", 5), ("rule", old[0].model_version, None, 3)]
