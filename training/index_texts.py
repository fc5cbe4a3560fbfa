"""Recent news texts from the news index, for `finmon adapt --from-index` to keep the model's behaviour on them."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from monitor.news.schemas import NewsItem


def news_content(source: dict[str, Any]) -> str:
    """The text the worker scored for this document (title and lead, as NewsItem.content joins them)."""
    title, text = str(source.get("title") or ""), str(source.get("text") or "")
    if not (title or text):
        return ""
    return NewsItem(title=title[:2000], text=text[:200_000]).content


def recent_news_texts(es: Elasticsearch, index: str, limit: int) -> list[str]:
    """Up to `limit` texts of the newest scored news (first story copies only where marked), newest first."""
    if limit <= 0:
        return []
    body = {
        "size": min(limit, 10_000),
        "sort": [{"event_at": {"order": "desc", "unmapped_type": "date"}}],
        "query": {"bool": {"must_not": [{"term": {"is_first": False}}]}},
        "_source": ["title", "text"],
    }
    try:
        hits = es.search(index=index, body=body)["hits"]["hits"]
    except NotFoundError:
        return []
    return [text for hit in hits if (text := news_content(hit.get("_source") or {}))]
