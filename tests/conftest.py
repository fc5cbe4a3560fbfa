"""Shared fixtures: real embedded servers (the same code `finmon up` uses), tiny random models and a clean
FINMON_* environment."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from monitor.app.embedded import ES_SERVERS, embedded_workdir, start_tansu, start_with_retry
from monitor.app.indices import index_specs
from monitor.app.settings import Settings, to_env
from monitor.stage_settings import ElasticsearchSettings, KafkaSettings
from monitor.store.es import make_client
from monitor.store.es_setup import run_setup
from tests.helpers import finmon_names
from tests.support.tiny_model import make_tiny_model_dir

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not here")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def short_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model built with seed 1 and 32 tokens at most: the bench and ONNX tests' figures (padding to 32,
    int8 labels equal to torch's on their texts) hold on these weights."""
    return make_tiny_model_dir(tmp_path_factory.mktemp("short-model"), seed=1, max_length=32)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """The tiny model's encoder and tokenizer in one directory: a local base, as `finmon train --base` accepts."""
    directory = tmp_path_factory.mktemp("tiny-base")
    for part in ("encoder", "tokenizer"):
        shutil.copytree(tiny_model_dir / part, directory, dirs_exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def server_workdir() -> Iterator[Path]:
    with embedded_workdir() as workdir:
        yield workdir


@pytest.fixture(scope="session")
def kafka_bootstrap(server_workdir: Path) -> Iterator[str]:
    """A Tansu broker for the whole session, or the cluster named by KAFKA_BOOTSTRAP."""
    if os.environ.get("KAFKA_BOOTSTRAP"):
        yield os.environ["KAFKA_BOOTSTRAP"]
        return
    broker = start_with_retry(start_tansu, server_workdir)
    yield broker.address
    broker.stop()


@pytest.fixture(scope="session", params=["noida", "osmem"])
def es_settings(request: pytest.FixtureRequest, server_workdir: Path) -> Iterator[ElasticsearchSettings]:
    """Each ES-API server in turn (both are run), or the real cluster named by ES_URL (then only that)."""
    if os.environ.get("ES_URL"):
        if request.param != "noida":
            pytest.skip("ES_URL given: the real cluster is tested once")
        yield ElasticsearchSettings(urls=[os.environ["ES_URL"]])
        return
    server = start_with_retry(ES_SERVERS[request.param], server_workdir)
    yield ElasticsearchSettings(urls=[server.address], plain_json=request.param == "osmem")
    server.stop()


@pytest.fixture
def no_finmon_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FINMON_* variable for the test: only the settings it sets itself count."""
    for name in finmon_names():
        monkeypatch.delenv(name)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and index names, so tests never share state."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def es_env(
    es_settings: ElasticsearchSettings, unique: str, monkeypatch: pytest.MonkeyPatch, no_finmon_env: None
) -> Iterator[tuple[ElasticsearchSettings, Elasticsearch]]:
    """Indices of this test alone, every one finmon sets up, named in FINMON_ES__* for the CLI under test;
    deleted afterwards (by name: real Elasticsearch refuses wildcard deletes)."""
    names = {"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}", "labels_index": f"labels-{unique}"}
    settings = es_settings.model_copy(update=names)
    for name, value in to_env(settings, "FINMON_ES__").items():
        monkeypatch.setenv(name, value)
    client = make_client(settings)
    run_setup(client, settings, index_specs(settings))
    yield settings, client
    for index in names.values():
        if client.indices.exists(index=index):
            client.indices.delete(index=index)
    client.close()


@pytest.fixture
def settings(
    kafka_bootstrap: str, es_settings: ElasticsearchSettings, tiny_model_dir: Path, unique: str, tmp_path: Path
) -> Settings:
    """Settings pointing at the session's servers with topics, group and index of this test alone."""
    kafka = KafkaSettings(
        bootstrap_servers=[kafka_bootstrap],
        raw_topic=f"raw-{unique}",
        scored_topic=f"scored-{unique}",
        dlq_topic=f"dlq-{unique}",
        consumer_group=f"g-{unique}",
        partitions=2,
    )
    es = es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})
    return Settings(
        kafka=kafka,
        es=es,
        model={"path": str(tiny_model_dir), "max_batch": 32, "max_wait": 0.2},
        data_dir=tmp_path / "data",
    )
