"""The demo feed as a replay leaves it in Elasticsearch, scored by a fixed rule instead of a model (so the
figures are known), plus the alert history of the NWSC burst and of one topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.app.demo import demo_feed
from monitor.news.schemas import ScoredNews, SentimentProbs
from monitor.stream.replay import read_records
from tests.helpers import scored_news

NEGATIVE_WORDS = ("warn", "cut", "fall", "drop", "halt", "probe", "inquiry", "downgrade", "loss", "lawsuit", "exit")
TOPICS = ("Earnings", "Macro", "Markets", "M&A")
BURST_START = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
BURST_END = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 21, 5, tzinfo=UTC)  # the replay clock once the demo feed is through


def _sentiment(record: dict[str, Any]) -> str:
    if "NWSC" in record.get("tickers", []) or any(w in record["title"].lower() for w in NEGATIVE_WORDS):
        return "negative"
    return "positive" if len(record["title"]) % 3 == 0 else "neutral"


def _probs(sentiment: str) -> SentimentProbs:
    high, low = 0.8, 0.1
    return SentimentProbs(**{k: high if k == sentiment else low for k in ("negative", "neutral", "positive")})


def demo_news() -> list[ScoredNews]:
    """Every demo feed item, scored at its published time (the demo charts on published_at)."""
    news = []
    for n, raw in enumerate(read_records(demo_feed())):
        record = json.loads(raw)
        published = datetime.fromisoformat(record["published_at"])
        sentiment = _sentiment(record)
        news.append(
            scored_news(
                f"demo-{n}",
                record["title"],
                published,
                TOPICS[n % len(TOPICS)],
                sentiment,
                _probs(sentiment),
                tickers=record.get("tickers", []),
                url=record.get("url"),
                source=record.get("source", "demo"),
                model_name="rule",
            )
        )
    return news


def _event(status: str, scope: str, key: str, at: datetime, ends: datetime | None) -> dict[str, Any]:
    return {
        "status": status,
        "fingerprint": f"{scope}-{key}",
        "labels": {"alertname": "NegativeNewsSurge", "rule": scope, "scope": scope, scope: key},
        "summary": f"negative news surge: {scope} {key}",
        "starts_at": BURST_START.isoformat(),
        "ends_at": ends.isoformat() if ends else None,
        "at": at.isoformat(),
        "negative_share": 0.8,
        "baseline_share": 0.25,
    }


def demo_alerts() -> list[dict[str, Any]]:
    """A ticker alert (NWSC) and a topic alert (Earnings): each fires at the burst and resolves after it."""
    events = []
    for scope, key in (("ticker", "NWSC"), ("topic", "Earnings")):
        events.append(_event("firing", scope, key, BURST_START + timedelta(minutes=5), None))
        events.append(_event("resolved", scope, key, BURST_END, BURST_END))
    return events
