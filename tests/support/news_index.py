"""The news index for integration tests that write news without the worker: a plain index with its mapping
(`finmon setup` would make the alias), and an EsNewsSink that creates it before its first write."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from monitor.store.es import EsNewsSink
from monitor.store.es_setup import ensure_index
from monitor.store.mappings import NEWS_MAPPING


def ensure_news_index(client: Elasticsearch, index: str) -> None:
    """Create the news index with its mapping when missing."""
    ensure_index(client, index, NEWS_MAPPING)


def news_sink(client: Elasticsearch, index: str) -> EsNewsSink:
    """A sink that does not retry (a test's server answers or the test fails) and creates the index first."""
    return EsNewsSink(client, index, sleep=lambda _: False, prepare=lambda: ensure_news_index(client, index))
