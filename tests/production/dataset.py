"""A small known dataset of scored news (expected figures are computed from it in the tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.news.schemas import ScoredNews, SentimentProbs
from tests.helpers import scored_news

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

PROBS = {
    "negative": SentimentProbs(negative=0.8, neutral=0.15, positive=0.05),
    "neutral": SentimentProbs(negative=0.1, neutral=0.8, positive=0.1),
    "positive": SentimentProbs(negative=0.05, neutral=0.15, positive=0.8),
}


def scored(i: int, topic: str, sentiment: str, tickers: list[str], at: datetime, title: str = "") -> ScoredNews:
    title = title or f"{topic} story {i}"
    return scored_news(
        f"doc-{i}", title, at, topic, sentiment, PROBS[sentiment], tickers=tickers, url=f"https://e.example/{i}"
    )


def known_news() -> list[ScoredNews]:
    """Two hours of news. Hour 1: Earnings 4 items (3 negative), M&A 2 (0 negative).
    Hour 2: Earnings 2 (1 negative), M&A 2 (2 negative). Tickers: ACME 5, BOLT 3, CRUX 1; one item has none."""
    h1, h2 = T0, T0 + timedelta(hours=1)
    rows = [
        ("Earnings", "negative", ["ACME"], h1),
        ("Earnings", "negative", ["ACME"], h1 + timedelta(minutes=5)),
        ("Earnings", "negative", ["BOLT"], h1 + timedelta(minutes=10)),
        ("Earnings", "positive", ["ACME"], h1 + timedelta(minutes=15)),
        ("M&A", "neutral", ["BOLT"], h1 + timedelta(minutes=20)),
        ("M&A", "positive", ["CRUX"], h1 + timedelta(minutes=25)),
        ("Earnings", "negative", ["ACME"], h2 + timedelta(minutes=1)),
        ("Earnings", "neutral", ["BOLT"], h2 + timedelta(minutes=2)),
        ("M&A", "negative", ["ACME"], h2 + timedelta(minutes=3)),
        ("M&A", "negative", [], h2 + timedelta(minutes=4)),
    ]
    return [
        scored(i, topic, sentiment, tickers, at, title=f"Headline {i}: {topic} {sentiment}")
        for i, (topic, sentiment, tickers, at) in enumerate(rows)
    ]
