"""`finmon setup` on both ES-API servers: fallback without ILM, idempotence, conflicts, rollover dedup."""

from __future__ import annotations

import logging

import pytest
from elasticsearch import Elasticsearch

from monitor.app import cli
from monitor.app.indices import index_specs
from monitor.app.settings import Settings, to_env
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es_setup import IndexSetup, ensure_setup, run_setup, templates_missing
from monitor.store.mappings import NEWS_MAPPING, IndexSpec, Lifecycle, SetupError
from tests.support.news_index import news_sink
from tests.support.sinks import encoded

from .dataset import known_news

pytestmark = pytest.mark.integration


@pytest.fixture
def es(es_settings: ElasticsearchSettings, unique: str) -> ElasticsearchSettings:
    return es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})


def test_setup_falls_back_to_plain_indices_and_twice_changes_nothing(
    es_client: Elasticsearch, es: ElasticsearchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="monitor.store.es_setup"):
        first = run_setup(es_client, es, index_specs(es))
    assert "no ILM" in caplog.text
    outcomes = {(s.kind, s.name): s.outcome for s in first}
    assert outcomes[("ilm policy", es.news_index)] == "skipped"
    assert outcomes[("index template", es.news_index)] == "created"
    assert outcomes[("index", es.news_index)] == "created"
    assert outcomes[("index", f"{es.alerts_index}-outbox")] == "created"
    mapping = es_client.indices.get_mapping(index=es.news_index)[es.news_index]["mappings"]["properties"]
    assert mapping["topic"]["type"] == "keyword" and mapping["scored_at"]["type"] == "date"
    assert mapping["title"]["fields"]["raw"]["type"] == "keyword"
    again = run_setup(es_client, es, index_specs(es))
    assert {s.outcome for s in again} <= {"unchanged", "skipped"}, [str(s) for s in again]
    assert templates_missing(es_client, index_specs(es)) == []


def test_a_missing_field_is_added_and_reported(es_client: Elasticsearch, es: ElasticsearchSettings) -> None:
    partial = {"properties": {k: v for k, v in NEWS_MAPPING["properties"].items() if k != "model_version"}}
    es_client.indices.create(index=es.news_index, mappings=partial)
    steps = {s.name: s for s in run_setup(es_client, es, index_specs(es)) if s.kind == "index"}
    assert steps[es.news_index].outcome == "updated" and "model_version" in steps[es.news_index].detail
    mapping = es_client.indices.get_mapping(index=es.news_index)[es.news_index]["mappings"]["properties"]
    assert mapping["model_version"]["type"] == "keyword"


def test_a_mapping_conflict_names_the_field_and_exits_non_zero(
    es_client: Elasticsearch,
    es: ElasticsearchSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    es_client.indices.create(index=es.news_index, mappings={"properties": {"topic": {"type": "text"}}})
    with pytest.raises(SetupError, match="`topic` is mapped as text, finmon needs keyword"):
        run_setup(es_client, es, index_specs(es))
    for name, value in to_env(es, "FINMON_ES__").items():
        monkeypatch.setenv(name, value)
    assert cli.main(["setup"]) == 1
    assert "`topic`" in capsys.readouterr().err


def test_the_cli_prints_each_step(
    es: ElasticsearchSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in to_env(es, "FINMON_ES__").items():
        monkeypatch.setenv(name, value)
    assert cli.main(["setup"]) == 0
    assert f"index {es.news_index}: created" in capsys.readouterr().out
    assert cli.main(["setup"]) == 0
    out = capsys.readouterr().out
    assert f"index template {es.news_index}: unchanged" in out and "created" not in out


def test_worker_start_runs_setup_when_templates_are_missing(
    es_client: Elasticsearch, es: ElasticsearchSettings
) -> None:
    lines: list[str] = []
    ensure_setup(es_client, es, index_specs(es), lines.append)
    assert lines[0].startswith("index templates missing") and any("created" in line for line in lines)
    lines.clear()
    ensure_setup(es_client, es, index_specs(es), lines.append)
    assert lines == []


def test_rollover_alias_keeps_exactly_one_copy_per_id(
    es_client: Elasticsearch, es: ElasticsearchSettings, request: pytest.FixtureRequest
) -> None:
    """The ILM layout (alias over -000001, -000002): a redelivery after a rollover is not indexed again."""
    if "osmem" in request.node.callspec.id:
        pytest.skip("osmem has no _rollover API")
    spec = IndexSpec(es.news_index, NEWS_MAPPING, rollover=True)
    setup = IndexSetup(es_client, Lifecycle(), ilm=True)
    assert setup.template(spec).outcome == "created"  # new backing indices take the mapping from it
    created = setup._create(spec)
    assert created.kind == "rollover alias" and created.outcome == "created"
    docs = known_news()
    sink = news_sink(es_client, es.news_index)
    assert sink.write(encoded(docs[:6])) == []
    es_client.indices.refresh(index=es.news_index)
    assert es_client.indices.rollover(alias=es.news_index)["rolled_over"]
    again = setup.index(spec)
    assert again.outcome == "unchanged", str(again)
    redelivering = news_sink(es_client, es.news_index)
    assert redelivering.write(encoded(docs)) == []  # 6 redelivered, 4 new
    es_client.indices.refresh(index=es.news_index)
    hits = es_client.search(index=es.news_index, size=100, source=False)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(d.id for d in docs)
    assert {h["_index"] for h in hits} == {spec.first_index, f"{es.news_index}-000002"}
    assert redelivering.metrics.es_duplicates._value.get() == 6


def test_a_worker_does_not_start_on_a_mapping_conflict(settings: Settings) -> None:
    from monitor.store.es import make_client
    from monitor.stream.worker import build_worker

    client = make_client(settings.es)
    client.indices.create(index=settings.es.news_index, mappings={"properties": {"scored_at": {"type": "keyword"}}})
    client.close()
    with pytest.raises(SetupError, match="`scored_at` is mapped as keyword, finmon needs date"):
        build_worker(
            settings.kafka,
            settings.es,
            settings.model,
            settings.worker,
            data_dir=settings.data_dir,
            indices=index_specs(settings.es),
        )
