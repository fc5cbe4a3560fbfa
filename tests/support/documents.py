"""A scored news item's Elasticsearch document as a dict: the reference the sink's one-pass serialiser is held to."""

from __future__ import annotations

from typing import Any

from monitor.news.schemas import ScoredNews


def es_document(doc: ScoredNews) -> dict[str, Any]:
    """The document's fields as pydantic dumps them (by alias, no None), plus `event_at`."""
    document = doc.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {**document, "event_at": doc.event_at.isoformat()}
