"""Every index finmon writes to: monitor's news index and alerts' own, set up together at start
(`finmon setup`, the worker, `finmon alerts`, `finmon up`); the labels index of the review queue and
`finmon labels import`."""

from __future__ import annotations

from alerts.alert_indices import AlertIndices
from monitor.labels.labels_index import labels_index_spec
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es_setup import news_index_specs
from monitor.store.mappings import IndexSpec


def index_specs(es: ElasticsearchSettings) -> list[IndexSpec]:
    """The news index, then the alert history, outbox and state, then the labels, with their mappings."""
    return news_index_specs(es) + AlertIndices(es.alerts_index).specs() + [labels_index_spec(es.labels_index)]
