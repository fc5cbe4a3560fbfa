import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from monitor.news.ids import canonical_url, news_id
from monitor.news.schemas import NewsItem, ScoredNews, SentimentProbs
from tests.support.documents import es_document


def test_canonical_url_drops_tracking_fragment_default_port_and_sorts_query() -> None:
    url = "HTTPS://www.Example.com:443/markets/story/?b=2&utm_source=tw&a=1&fbclid=x#comments"
    assert canonical_url(url) == "https://example.com/markets/story?a=1&b=2"


def test_id_is_the_same_for_every_spelling_of_one_url() -> None:
    first = NewsItem(title="Fed holds", url="https://example.com/a?utm_medium=rss")
    second = NewsItem(title="Fed holds rates", url="https://www.example.com/a#top")
    assert first.id == second.id == news_id("https://example.com/a")
    assert len(first.id) == 32


def test_id_without_url_hashes_source_title_and_time() -> None:
    one = NewsItem(title="Oil  jumps", source="Wire", published_at=datetime(2026, 1, 1, tzinfo=UTC))
    same = NewsItem(title="oil jumps", source="wire", published_at=datetime(2026, 1, 1, tzinfo=UTC))
    other = NewsItem(title="Oil jumps", source="Other", published_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert one.id == same.id != other.id


def test_given_id_is_kept() -> None:
    assert NewsItem(id="abc", title="x", url="https://e.com/1").id == "abc"


def test_times_become_utc_and_tickers_upper_without_dollar() -> None:
    item = NewsItem.model_validate(
        {"title": "t", "published_at": "2026-03-01T10:00:00+02:00", "tickers": ["$aapl", "MSFT", "aapl", " "]}
    )
    assert item.published_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert item.tickers == ["AAPL", "MSFT"]


def test_summary_is_accepted_as_text_and_content_joins_title_and_text() -> None:
    item = NewsItem.model_validate({"title": "Deal", "summary": "Acme buys Widget"})
    assert item.text == "Acme buys Widget"
    assert item.content == "Deal. Acme buys Widget"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title or a text"),
        ({"title": "x", "v": 99}, "schema version"),
        ({"title": "x", "published_at": "soon"}, "published_at"),
    ],
)
def test_invalid_items_say_why(payload: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        NewsItem.model_validate(payload)


def test_json_round_trip_is_versioned() -> None:
    item = NewsItem(title="Gold hits record", url="https://e.com/g", tickers=["GLD"])
    data = json.loads(item.to_json())
    assert data["v"] == 1
    assert NewsItem.model_validate(data) == item


def test_scored_news_document_keeps_scores_and_bounds_the_signed_score() -> None:
    base = NewsItem(title="Shares plunge", url="https://e.com/p").model_dump(by_alias=True)
    scored = ScoredNews(
        **base,
        topic="Stock Movement",
        topic_confidence=0.9,
        sentiment="negative",
        sentiment_probs=SentimentProbs(negative=0.8, neutral=0.15, positive=0.05),
        sentiment_score=-0.75,
        model_name="m",
        model_version="1",
        scored_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    doc = es_document(scored)
    assert doc["sentiment_probs"] == {"negative": 0.8, "neutral": 0.15, "positive": 0.05}
    assert doc["id"] == scored.id and doc["scored_at"] == "2026-01-01T00:00:00Z"
    with pytest.raises(ValidationError, match="sentiment_score"):
        ScoredNews(**{**scored.model_dump(by_alias=True), "sentiment_score": 1.5})
