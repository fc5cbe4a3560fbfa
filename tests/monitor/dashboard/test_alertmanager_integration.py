"""The page's alerts beside a real Alertmanager's view of them (prometheus-alertmanager with the shipped
docker/alertmanager/alertmanager.yml): active, silenced (a silence made through the API v2), inhibited (the
all-news alert mutes the topic alerts), resolved ones absent, and an Alertmanager that is down or hangs shown
as unreachable, on the page's own JSON. Skipped, saying why, where the program is absent."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from alerts.alert import AlertEvent
from alerts.alertmanager import postable_alert, push_body
from alerts.es_store import history_document
from monitor.app.embedded import free_port
from monitor.app.indices import index_specs
from monitor.app.settings import Settings
from monitor.dashboard.page import dashboard
from monitor.stage_settings import DashboardSettings, ElasticsearchSettings
from monitor.store.es import make_client
from monitor.store.es_setup import run_setup
from tests.helpers import wait_for
from tests.production.prometheus_servers import Running, alertmanager, shipped_alertmanager_config

pytestmark = pytest.mark.integration

HOSTILE = '<img src=x onerror="alert(1)">'


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def event(scope: str, key: str = "", status: str = "firing", summary: str = "") -> AlertEvent:
    labels = {"alertname": "NegativeNewsSpike", "rule": "surge", "scope": scope, "severity": "warning"}
    labels |= {scope: key} if key else {}
    start = now() - timedelta(minutes=30)
    end = now() - timedelta(minutes=1) if status == "resolved" else None
    notes = {"summary": summary or f"spike in {scope} {key}"}
    return AlertEvent(status, labels, notes, start, end, end or now())  # type: ignore[arg-type]


EVENTS = [
    event("ticker", "NWSC"),  # active
    event("ticker", "ACME", summary=HOSTILE),  # silenced
    event("topic", "Earnings"),  # inhibited by the all-news alert
    event("all"),  # active, and inhibits the topic alerts
    event("topic", "Macro", status="resolved"),  # over: not in Alertmanager
]


@pytest.fixture
def am(tmp_path: Path) -> Iterator[Running]:
    nowhere = f"http://127.0.0.1:{free_port()}/receiver"  # notifications fail; states are what is checked
    with alertmanager(shipped_alertmanager_config(nowhere), tmp_path) as server:
        yield server


@pytest.fixture
def stores(es_settings: ElasticsearchSettings, unique: str) -> Iterator[tuple[ElasticsearchSettings, Elasticsearch]]:
    es = es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})
    client = make_client(es)
    run_setup(client, es, index_specs(es))
    for n, item in enumerate(EVENTS):
        client.index(index=es.alerts_index, id=f"a{n}", document=history_document(item))
    client.indices.refresh(index=es.alerts_index)
    yield es, client
    client.indices.delete(index=[es.news_index, es.alerts_index])
    client.close()


@pytest.fixture
def hanging() -> Iterator[str]:
    """An 'Alertmanager' that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def push(am: Running) -> None:
    firing = [json.dumps(postable_alert(e, "http://127.0.0.1:8050")) for e in EVENTS if e.status == "firing"]
    body = push_body(firing, now(), timedelta(minutes=10))
    response = httpx.post(f"{am.url}/api/v2/alerts", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    silence = {
        "matchers": [{"name": "ticker", "value": "ACME", "isRegex": False, "isEqual": True}],
        "startsAt": (now() - timedelta(minutes=1)).isoformat(),
        "endsAt": (now() + timedelta(hours=1)).isoformat(),
        "createdBy": "finmon tests",
        "comment": "known story",
    }
    response = httpx.post(f"{am.url}/api/v2/silences", json=silence)
    assert response.status_code == 200, response.text


def by_scope(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{row['scope']} {row['key']}".strip(): row for row in answer["alerts"]}


def states(answer: dict[str, Any], index: int) -> dict[str, str]:
    return {name: row["alertmanager"][index]["state"] for name, row in by_scope(answer).items()}


def test_the_page_shows_alertmanagers_view(
    am: Running, stores: tuple[ElasticsearchSettings, Elasticsearch], hanging: str
) -> None:
    es, client = stores
    push(am)
    down = f"http://127.0.0.1:{free_port()}"
    settings = Settings(es=es, alerts={"alertmanager_urls": [am.url, down, hanging]})
    want = {
        "ticker NWSC": "active",
        "ticker ACME": "silenced",
        "topic Earnings": "inhibited",
        "all": "active",
        "topic Macro": "absent",
    }
    with (
        dashboard(
            settings.dashboard, settings.es, client, now, alertmanager_urls=settings.alerts.alertmanager_urls, port=0
        ) as url,
        httpx.Client(base_url=url, timeout=30) as page,
    ):
        answer: dict[str, Any] = {}

        def settled() -> bool:
            nonlocal answer
            answer = page.get("/api/alerts", params={"range": "24h"}).json()
            return states(answer, 0) == want

        wait_for(settled, 30, f"Alertmanager's states on the page (last: {answer and states(answer, 0)})", am.log)
    rows = by_scope(answer)
    assert answer["configured"] is True
    assert [row["status"] for row in answer["alerts"]][:4] == ["firing"] * 4  # firing first, then the resolved
    acme = rows["ticker ACME"]["alertmanager"][0]
    assert len(acme["silenced_by"]) == 1 and acme["inhibited_by"] == []
    assert rows["topic Earnings"]["alertmanager"][0]["inhibited_by"]  # the all-news alert's fingerprint
    assert rows["ticker ACME"]["summary"] == HOSTILE  # data, as it came (the page sets it as text)
    summaries = answer["alertmanagers"]
    assert summaries[0] == {"url": am.url, "reachable": True, "alerts": 4}
    assert summaries[1]["reachable"] is False and summaries[2]["reachable"] is False
    assert "no answer within" in summaries[2]["error"]
    assert {row["alertmanager"][1]["state"] for row in answer["alerts"]} == {"unreachable"}
    assert {row["alertmanager"][2]["state"] for row in answer["alerts"]} == {"unreachable"}


def test_without_alertmanager_the_page_says_so(stores: tuple[ElasticsearchSettings, Elasticsearch]) -> None:
    es, client = stores
    with dashboard(DashboardSettings(), es, client, now, port=0) as url, httpx.Client(base_url=url) as page:
        answer = page.get("/api/alerts").json()
        health = page.get("/api/health").json()
        bad = page.get("/api/alerts", params={"range": "1y"})
    assert answer["configured"] is False and answer["alertmanagers"] == []
    assert {row["status"] for row in answer["alerts"]} == {"firing", "resolved"}
    assert all(row["alertmanager"] == [] for row in answer["alerts"])
    assert {item["state"] for item in health["items"]} == {"unknown"}  # nothing to read: nothing invented
    assert bad.status_code == 400 and "unknown range" in bad.json()["error"]
