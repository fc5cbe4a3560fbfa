"""The review queue on both ES-API servers: its order and exclusions, labels and undo through the index, and
the page in headless Chromium: keys pressed, labels read back from the labels index, hostile headlines
kept as text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from elasticsearch import Elasticsearch

from monitor.app.indices import index_specs
from monitor.app.settings import Settings
from monitor.dashboard.browser import find_chromium
from monitor.dashboard.page import dashboard, target_of
from monitor.dashboard.review import ReviewData, UnknownNews
from monitor.labels.labels_index import read_labels
from monitor.news.schemas import ScoredNews, SentimentProbs
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client
from monitor.store.es_setup import run_setup
from tests.helpers import scored_news
from tests.support.news_index import news_sink
from tests.support.sinks import encoded

from .cdp import open_page

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
HOSTILE = '<img src=x onerror="document.title=1">Acme & <b>Co</b> "halts" output'


def news(
    n: int, title: str, probs: tuple[float, float, float], topic: str, confidence: float = 0.9, **extra: object
) -> ScoredNews:
    negative, neutral, positive = probs
    sentiment = ("negative", "neutral", "positive")[max(range(3), key=lambda i: probs[i])]
    item = scored_news(f"n{n}", title, NOW - timedelta(minutes=10 * n), topic, sentiment,
                       SentimentProbs(negative=negative, neutral=neutral, positive=positive),
                       tickers=[f"T{n % 4}"], url=f"https://news.example/{n}")  # fmt: skip
    return item.model_copy(update={"topic_confidence": confidence, **extra})


def review_news() -> list[ScoredNews]:
    """n0 (hostile) is the least certain; n7 repeats n1's story, less certain; n6 is sure."""
    return [
        news(0, HOSTILE, (0.333, 0.334, 0.333), "Company | Product News", url="javascript:alert(1)"),
        news(1, "Fed minutes show split on rates", (0.30, 0.38, 0.32), "Fed | Central Banks", story_id="s1"),
        news(2, "Chipmaker guidance above consensus", (0.20, 0.36, 0.44), "Earnings"),
        news(3, "Oil steadies after OPEC meeting", (0.25, 0.45, 0.30), "Energy | Oil", confidence=0.5),
        news(4, "Regulator opens probe into lender", (0.45, 0.35, 0.20), "Legal | Regulation"),
        news(5, "Dollar edges higher", (0.22, 0.50, 0.28), "Currencies"),
        news(6, "Shares soar on record profit", (0.01, 0.02, 0.97), "Earnings", confidence=0.99),
        news(7, "Fed minutes show split on rates!", (0.33, 0.35, 0.32), "Fed | Central Banks", story_id="s1"),
    ]


@pytest.fixture
def review_settings(es_settings: ElasticsearchSettings, unique: str) -> Iterator[tuple[Settings, Elasticsearch]]:
    names = {"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}", "labels_index": f"labels-{unique}"}
    es = es_settings.model_copy(update=names)
    client = make_client(es)
    run_setup(client, es, index_specs(es))
    assert news_sink(client, es.news_index).write(encoded(review_news())) == []
    client.indices.refresh(index=es.news_index)
    yield Settings(es=es, dashboard={"time_field": "published_at"}), client
    for index in names.values():
        if client.indices.exists(index=index):
            client.indices.delete(index=index)
    client.close()


def test_queue_order_labels_and_undo(review_settings: tuple[Settings, Elasticsearch]) -> None:
    settings, client = review_settings
    review = ReviewData(client, target_of(settings.es, settings.dashboard), settings.es.labels_index, lambda: NOW)
    queue = review.queue("24h", 10)
    ids = [item["id"] for item in queue["items"]]
    assert ids[:2] == ["n0", "n7"] and "n1" not in ids  # n7 is the least certain of story s1, queued once
    assert ids.index("n6") == len(ids) - 1 and len(ids) == 7
    assert queue["items"][-1]["model"] == {"name": "tiny", "version": "1", "hash": None}
    assert review.label("n0", "negative", None, "ana")["relabelled"] is False
    assert review.label("n0", "neutral", "IPO", None)["relabelled"] is True
    assert "n0" not in [item["id"] for item in review.queue("24h", 10)["items"]]
    [stored] = read_labels(client, settings.es.labels_index)
    assert (stored.news_id, stored.sentiment, stored.topic, stored.text) == ("n0", "neutral", "IPO", HOSTILE)
    assert stored.model_version == "tiny 1" and stored.labelled_at == NOW
    review.undo("n0")  # back to the first label
    assert [(x.sentiment, x.labeller) for x in read_labels(client, settings.es.labels_index)] == [("negative", "ana")]
    review.undo("n0")  # and to none
    assert read_labels(client, settings.es.labels_index) == []
    with pytest.raises(UnknownNews):
        review.undo("n0")
    with pytest.raises(UnknownNews):
        review.label("nope", "negative", None, None)


def test_writes_over_http_need_the_token_and_the_origin(review_settings: tuple[Settings, Elasticsearch]) -> None:
    settings, client = review_settings
    with (
        dashboard(settings.dashboard, settings.es, client, lambda: NOW, port=0) as url,
        httpx.Client(base_url=url) as http,
    ):
        token = http.get("/api/review/session").json()["token"]
        origin = url.rstrip("/")
        body = {"news_id": "n2", "sentiment": "Positive "}
        assert http.post("/api/labels", json=body, headers={"X-Finmon-Token": token}).status_code == 403  # no Origin
        evil = {"X-Finmon-Token": token, "Origin": "https://evil.example"}
        assert http.post("/api/labels", json=body, headers=evil).status_code == 403
        good = {"X-Finmon-Token": token, "Origin": origin}
        assert http.post("/api/labels", json={**body, "news_id": "missing"}, headers=good).status_code == 404
        stored = http.post("/api/labels", json=body, headers=good)
        assert stored.status_code == 200 and stored.json()["counts"]["sentiment"] == {"positive": 1}
    assert [(x.news_id, x.sentiment) for x in read_labels(client, settings.es.labels_index)] == [("n2", "positive")]


async def label_with_keys(url: str) -> dict[str, object]:
    async with open_page(f"{url}review?range=24h") as page:
        await page.wait("document.body.dataset.state === 'ready'")
        seen = {
            "first": await page.evaluate("document.getElementById('item').dataset.id"),
            "title": await page.evaluate("document.getElementById('item-title').textContent"),
            "href": await page.evaluate("document.getElementById('item-title').getAttribute('href')"),
            "injected": await page.evaluate("document.querySelectorAll('#item img, #item b b').length"),
        }
        order = []

        async def label(*keys: str, saved: int | None = None) -> None:
            order.append(await page.evaluate("document.getElementById('item').dataset.id"))
            for key in keys:
                await page.press(key)
                if key == "t":
                    await page.type("central")
            if saved is not None:
                await page.wait(f"document.body.dataset.saved === '{saved}'")

        await label("1", saved=1)  # n0: negative, no topic
        await label("t", "Enter", "3", saved=2)  # the topic picked by type-ahead, then positive
        await label("a", saved=3)  # the model's labels accepted
        await label("s")  # skipped
        await page.wait(f"document.getElementById('item').dataset.id !== '{order[-1]}'")
        await label("2", saved=4)
        await page.press("u")  # undo the last label: its item comes back
        await page.wait("document.body.dataset.saved === '3'")
        seen["back"] = await page.evaluate("document.getElementById('item').dataset.id")
        seen["negative_count"] = await page.evaluate(
            "document.querySelector('#counts tr[data-name=negative] td.num').textContent"
        )
        seen["errors"] = await page.evaluate("document.getElementById('errors').textContent")
        seen["order"] = order
        return seen


def test_the_review_page_labels_from_the_keyboard(review_settings: tuple[Settings, Elasticsearch]) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install -y chromium)")
    settings, client = review_settings
    with dashboard(settings.dashboard, settings.es, client, lambda: NOW, port=0) as url:
        seen = asyncio.run(label_with_keys(url))
    assert seen["errors"] == ""
    assert seen["first"] == "n0"
    assert seen["title"] == HOSTILE and seen["href"] is None and seen["injected"] == 0  # text, not markup
    order = seen["order"]
    assert isinstance(order, list) and seen["back"] == order[4]
    by_id = {x.news_id: x for x in read_labels(client, settings.es.labels_index)}
    assert set(by_id) == set(order[:3])
    first, second, third = (by_id[news_id] for news_id in order[:3])
    assert (first.sentiment, first.topic) == ("negative", None)
    assert (second.sentiment, second.topic) == ("positive", "Fed | Central Banks")
    model = {item.id: item for item in review_news()}[order[2]]
    assert (third.sentiment, third.topic) == (model.sentiment, model.topic)
    assert seen["negative_count"] == "1"
    assert by_id["n0"].text == HOSTILE
