"""The review page's routes over a real loopback socket with an in-memory review (no Elasticsearch): the
same-origin token and Origin/Host checks, sizes, label validation and JSON errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from monitor.dashboard.page_routes import Routes, serve_dashboard
from monitor.dashboard.review import UnknownNews
from monitor.dashboard.review_routes import ReviewRoutes
from monitor.labels.files import LabelNames
from monitor.news.schemas import SENTIMENT_LABELS, TOPIC_LABELS
from monitor.telemetry.http_server import Request

from .test_page_routes import Answers

NAMES = LabelNames(SENTIMENT_LABELS, TOPIC_LABELS)


class MemoryReview:
    def __init__(self) -> None:
        self.labels: dict[str, tuple[str | None, str | None, str | None]] = {}

    def queue(self, range_name: str, size: int) -> dict[str, Any]:
        return {"range": range_name, "size": size, "items": [], "counts": self.counts()}

    def counts(self) -> dict[str, Any]:
        return {"total": len(self.labels)}

    def label(self, news_id: str, sentiment: str | None, topic: str | None, labeller: str | None) -> dict[str, Any]:
        if news_id == "missing":
            raise UnknownNews(f"no news with id {news_id!r}")
        self.labels[news_id] = (sentiment, topic, labeller)
        return {"stored": news_id, "counts": self.counts()}

    def undo(self, news_id: str) -> dict[str, Any]:
        if self.labels.pop(news_id, None) is None:
            raise UnknownNews(f"nothing to undo for {news_id!r}")
        return {"undone": news_id, "counts": self.counts()}


@pytest.fixture
def review() -> Iterator[tuple[httpx.Client, MemoryReview, dict[str, str]]]:
    memory = MemoryReview()
    routes = Routes(Answers(), 5.0, extra=ReviewRoutes(memory, NAMES, "127.0.0.1").routes())
    with serve_dashboard(routes, "127.0.0.1", 0) as url, httpx.Client(base_url=url) as client:
        token = client.get("/api/review/session").json()["token"]
        yield client, memory, {"X-Finmon-Token": token, "Origin": url.rstrip("/")}


def test_the_page_and_its_session(review: tuple[httpx.Client, MemoryReview, dict[str, str]]) -> None:
    client, _, _ = review
    page = client.get("/review")
    assert page.status_code == 200 and 'src="static/review.js"' in page.text and "<script>" not in page.text
    session = client.get("/api/review/session").json()
    assert session["sentiments"] == list(SENTIMENT_LABELS) and session["topics"] == list(TOPIC_LABELS)
    assert session["writable"] is True and len(session["token"]) >= 40
    assert client.get("/api/review/queue?size=5&range=24h").json()["size"] == 5
    assert client.get("/api/review/queue?size=0").status_code == 400
    assert client.get("/api/review/queue?size=1e9").json()["error"] == "size must be a whole number from 1 to 200"
    assert client.post("/api/review/queue").status_code == 405


def test_a_label_is_stored_with_the_model_names(review: tuple[httpx.Client, MemoryReview, dict[str, str]]) -> None:
    client, memory, headers = review
    body = {"news_id": "n1", "sentiment": " POSITIVE", "topic": "m&a | investments", "labeller": "ana"}
    answer = client.post("/api/labels", json=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"stored": "n1", "counts": {"total": 1}}
    assert memory.labels == {"n1": ("positive", "M&A | Investments", "ana")}
    assert client.post("/api/labels/undo", json={"news_id": "n1"}, headers=headers).status_code == 200
    assert memory.labels == {}
    gone = client.post("/api/labels/undo", json={"news_id": "n1"}, headers=headers)
    assert gone.status_code == 404 and gone.json()["error"] == "nothing to undo for 'n1'"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"X-Finmon-Token": None}, 403, "missing or wrong X-Finmon-Token"),
        ({"X-Finmon-Token": "guess"}, 403, "missing or wrong X-Finmon-Token"),
        ({"Origin": None}, 403, "cross-site request refused: Origin None"),
        ({"Origin": "https://evil.example"}, 403, "cross-site request refused"),
        ({"Origin": "null"}, 403, "cross-site request refused"),
        ({"Host": "evil.example"}, 403, "loopback names only"),
        ({"Sec-Fetch-Site": "cross-site"}, 403, "Sec-Fetch-Site"),
        ({"Content-Type": "text/plain"}, 415, "application/json"),
    ],
)
def test_cross_site_and_tokenless_writes_are_refused(
    review: tuple[httpx.Client, MemoryReview, dict[str, str]], change: dict[str, str | None], status: int, message: str
) -> None:
    client, memory, headers = review
    sent = {**headers, "Content-Type": "application/json", **change}
    if change.get("Host"):
        sent["Origin"] = f"http://{change['Host']}"
    answer = client.post(
        "/api/labels",
        content=b'{"news_id": "n1", "sentiment": "negative"}',
        headers={k: v for k, v in sent.items() if v is not None},
    )
    assert answer.status_code == status and message in answer.json()["error"]
    assert memory.labels == {}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"not json", 400, "not a JSON object"),
        (b"[1, 2]", 400, "not a JSON object"),
        (b"[" * 5000, 400, "not a JSON object"),
        (b"\xff\xfe", 400, "not a JSON object"),
        (b'{"news_id": "n1", "sentiment": "bullish"}', 400, "unknown sentiment 'bullish': one of negative"),
        (b'{"news_id": "n1", "sentiment": 1}', 400, "unknown sentiment '1'"),
        (b'{"news_id": "n1", "topic": "Sports"}', 400, "unknown topic 'Sports'"),
        (b'{"news_id": "n1"}', 400, "a label needs a sentiment or a topic"),
        (b'{"sentiment": "negative"}', 400, "`news_id` is required"),
        (b'{"news_id": ["n1"], "sentiment": "negative"}', 400, "`news_id` must be a string"),
        (b'{"news_id": "n1", "sentiment": "negative", "admin": true}', 400, "unknown field(s) admin"),
        (b'{"news_id": "n1", "sentiment": "negative", "labeller": "' + b"x" * 65 + b'"}', 400, "`labeller`"),
        (b'{"news_id": "missing", "sentiment": "negative"}', 404, "no news with id 'missing'"),
        (b'{"news_id": "n1", "sentiment": "negative", "labeller": "' + b"x" * 17_000 + b'"}', 413, "over 16384"),
    ],
)
def test_bad_bodies_get_a_json_error(
    review: tuple[httpx.Client, MemoryReview, dict[str, str]], body: bytes, status: int, message: str
) -> None:
    client, memory, headers = review
    answer = client.post("/api/labels", content=body, headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    assert answer.headers["content-type"] == "application/json" and memory.labels == {}


def test_writes_are_refused_off_loopback() -> None:
    memory = MemoryReview()
    routes = ReviewRoutes(memory, NAMES, "0.0.0.0")
    headers = {"host": "finmon.internal:8050", "origin": "http://finmon.internal:8050", "x-finmon-token": routes.token}
    request = Request("POST", "/api/labels", {**headers, "content-type": "application/json"}, b'{"news_id": "n1"}')
    answer = routes.routes()["/api/labels"](request)
    assert answer.status == 403 and b"only taken on loopback" in answer.body and memory.labels == {}
