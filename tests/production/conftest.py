"""An Elasticsearch client on each ES-API server (the `es_settings` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client


@pytest.fixture
def es_client(es_settings: ElasticsearchSettings) -> Iterator[Elasticsearch]:
    client = make_client(es_settings)
    yield client
    client.close()
