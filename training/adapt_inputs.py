"""What `finmon adapt` learns from: the label files, and with --from-index the labels index and recent news texts."""

from __future__ import annotations

from pathlib import Path

from monitor.labels.files import read_label_files
from monitor.labels.records import Label
from monitor.stage_settings import ElasticsearchSettings
from training.adapt import AdaptError, require_model
from training.args import AdaptArgs


def adapt_inputs(args: AdaptArgs, es_settings: ElasticsearchSettings) -> tuple[list[Label], list[str]]:
    """The labels (files, then the labels index) and, with --from-index, recent news texts from the index."""
    args.validate()
    spec = require_model(args.model)
    labels = list(read_label_files([Path(p) for p in args.labels], spec.labels["sentiment"], spec.labels["topic"]))
    texts: list[str] = []
    if args.from_index:
        from elasticsearch import ApiError, TransportError

        from monitor.labels.labels_index import read_labels
        from monitor.store.es import make_client
        from training.index_texts import recent_news_texts

        try:
            es = make_client(es_settings)
            labels += read_labels(es, es_settings.labels_index)
            texts = recent_news_texts(es, es_settings.news_index, args.index_texts)
        except (ApiError, TransportError) as exc:
            raise AdaptError(f"Elasticsearch at {', '.join(es_settings.urls)}: {exc}") from None
    if not labels:
        raise AdaptError("no labels found in " + (", ".join(args.labels) or "the labels index"))
    return labels, texts
