"""The evaluator and the outbox on both Elasticsearch-API servers (noida and osmem), with a real receiver."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch, helpers
from webhook_receiver import SECRET, Receiver

from alerts.alert import AlertEvent
from alerts.alert_indices import AlertIndices
from alerts.alert_service import AlertService, build_alert_service
from alerts.alert_settings import AlertSettings
from alerts.es_source import EsCountSource
from alerts.es_store import EsOutbox
from alerts.evaluator import Evaluator
from alerts.lab.memory_source import MemorySource, NewsEvent
from alerts.notifier import Notifier, NotifierConfig
from alerts.rules import Rules, parse_rules
from alerts.scopes import ScopeKey
from monitor.app.settings import Settings
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.es import make_client
from tests.support.alerts_doubles import (
    AlwaysLease,
    CountingSource,
    ManualClock,
    MemoryHistory,
    MemoryStateStore,
    observations_by_counts,
)
from tests.support.news_index import ensure_news_index

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
SPIKE = (T0 + timedelta(hours=2), T0 + timedelta(hours=2, minutes=30))
RULES = parse_rules(
    {
        "step": "5m",
        "rules": [
            {
                "name": scope,
                "scope": {"kind": scope, "limit": 2},
                "baseline": {"half_life": "6h", "prior_weight": 20, "min_history": "1h"},
                "count": "items",  # each news item (the stories of this stream repeat within a minute)
            }
            for scope in ("all", "topic", "ticker")
        ],
    }
)


def news(start: datetime, minutes: int, spike: bool = False) -> list[NewsEvent]:
    """4 news a minute: 2 `earnings` (ticker ACME) and 2 `macro`; 20% negative, 90% for earnings in a spike.
    Every news item has a story; the second earnings news of a minute repeats the first one's story."""
    rng = random.Random(minutes)
    events = []
    for m in range(minutes):
        ts = start + timedelta(minutes=m)
        for i in range(4):
            earnings = i < 2
            share = 0.9 if spike and earnings else 0.2
            sentiment = "negative" if rng.random() < share else "neutral"
            events.append(
                NewsEvent(
                    ts + timedelta(seconds=10 * i),
                    "earnings" if earnings else "macro",
                    sentiment,
                    ("ACME",) if earnings else (),
                    f"{ts:%H%M}-{'e' if earnings else i}",
                    (("title", f"news {ts:%H:%M}/{i}"), ("url", f"https://x.test/{ts:%H%M}/{i}"), ("score", -i / 10)),
                )
            )
    return events


def index_news(client: Elasticsearch, index: str, events: list[NewsEvent]) -> None:
    actions = (
        {
            "_index": index,
            "_source": {
                "scored_at": (e.ts + timedelta(minutes=30)).isoformat(),  # scored late: event time counts
                "published_at": e.ts.isoformat(),
                "event_at": e.ts.isoformat(),
                "story_id": e.story_id,
                "title": dict(e.headline)["title"],
                "url": dict(e.headline)["url"],
                "sentiment_score": dict(e.headline)["score"],
                "topic": e.topic,
                "sentiment": e.sentiment,
                "tickers": list(e.tickers),
            },
        }
        for e in events
    )
    helpers.bulk(client, actions)
    client.indices.refresh(index=index)


@pytest.fixture
def settings(es_settings: ElasticsearchSettings, unique: str, receiver: Receiver, tmp_path: Path) -> Iterator[Settings]:
    es = es_settings.model_copy(update={"news_index": f"news-{unique}", "alerts_index": f"alerts-{unique}"})
    alerts = AlertSettings(webhook_urls=[receiver.url], hmac_secret=SECRET, lag=0, retry_initial=1, retry_max=10)
    yield Settings(es=es, alerts=alerts, data_dir=tmp_path)
    client = make_client(es)
    for name in (es.news_index, *(spec.name for spec in AlertIndices(es.alerts_index).specs())):
        if client.indices.exists(index=name):
            client.indices.delete(index=name)
    client.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[Elasticsearch]:
    client = make_client(settings.es)
    ensure_news_index(client, settings.es.news_index)
    yield client
    client.close()


def service(settings: Settings, clock: ManualClock, rules: Rules = RULES) -> AlertService:
    setup = AlertIndices(settings.es.alerts_index).specs()
    return build_alert_service(settings.alerts, settings.es, setup=setup, wall_clock=clock, clock=clock, rules=rules)


def run_until(svc: AlertService, clock: ManualClock, until: datetime) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    while clock.now < until:
        clock.advance(RULES.step)
        events += svc.evaluate()
    return events


def test_the_evaluator_asks_all_news_once_and_judges_what_each_rule_counts(
    settings: Settings, client: Elasticsearch
) -> None:
    index_news(client, settings.es.news_index, news(T0, 120) + news(SPIKE[0], 30, spike=True))
    start, end = SPIKE[1] - timedelta(hours=2), SPIKE[1]
    for count in ("items", "stories"):
        rules = RULES.model_copy(update={"rules": [r.model_copy(update={"count": count}) for r in RULES.rules]})
        source = CountingSource(EsCountSource(client, settings.es.news_index))
        notifier = Notifier(NotifierConfig.of(settings.alerts), EsOutbox(client, "unused"), httpx.Client(), lambda: end)
        state, history = MemoryStateStore(), MemoryHistory()
        evaluator = Evaluator(rules, source, state, history, notifier, AlwaysLease(), lambda: end, timedelta(0))
        observed = [obs for _, obs, _ in evaluator._observe(start, end)]
        assert source.calls == [("parent", count == "stories"), ("counts", "topic"), ("counts", "ticker")]
        assert observed == observations_by_counts(source.source, rules, start, end, rules.step), count


def test_es_counts_equal_in_memory_counts(settings: Settings, client: Elasticsearch) -> None:
    events = news(T0, 120) + news(SPIKE[0], 30, spike=True)
    index_news(client, settings.es.news_index, events)
    es_source = EsCountSource(client, settings.es.news_index)
    start, step = SPIKE[1] - timedelta(hours=2), RULES.step
    for stories in (False, True):
        memory = MemorySource(events, step, stories=stories)
        for rule in RULES.rules:
            rule = rule.model_copy(update={"count": "stories" if stories else "items"})
            expected = memory.counts(rule, start, SPIKE[1], step)
            assert es_source.counts(rule, start, SPIKE[1], step) == expected, (rule.name, stories)
    assert es_source.parent(start, SPIKE[1], step) == MemorySource(events, step).parent(start, SPIKE[1], step)
    items = RULES.rules[2].model_copy(update={"count": "items"})
    ticker = es_source.counts(items, start, SPIKE[1], step)[("ticker", "ACME")]
    stories = es_source.counts(RULES.rules[2].model_copy(update={"count": "stories"}), start, SPIKE[1], step)
    assert sum(stories[("ticker", "ACME")].totals) * 2 == sum(ticker.totals)  # two news per story
    found = es_source.headlines(ScopeKey("topic", "earnings"), SPIKE[0], SPIKE[1], 3)
    assert len(found) == 3 and all(h["score"] == -0.1 and h["title"] and h["url"] for h in found)


def test_fires_once_survives_restart_and_resolves(
    settings: Settings, client: Elasticsearch, receiver: Receiver, clock: ManualClock
) -> None:
    index_news(client, settings.es.news_index, news(T0, 120) + news(SPIKE[0], 30, spike=True))
    clock.now = SPIKE[0]
    first = service(settings, clock)
    fired = run_until(first, clock, SPIKE[1])
    assert {(e.status, e.labels["scope"]) for e in fired} == {
        ("firing", "all"),
        ("firing", "topic"),
        ("firing", "ticker"),
    }
    assert {a.labels.get("topic") for a in first.firing()} >= {"earnings"}
    payloads = [r.json() for r in receiver.requests]
    assert len(payloads) == 3 and all(r.signature_ok for r in receiver.requests)
    assert all(p["version"] == "4" and p["status"] == "firing" and len(p["alerts"]) == 1 for p in payloads)
    topic = next(p for p in payloads if p["commonLabels"]["scope"] == "topic")
    assert topic["alerts"][0]["evidence"] and "news " in topic["commonAnnotations"]["headlines"]
    first.stop()

    index_news(client, settings.es.news_index, news(SPIKE[1], 180))
    restarted = service(settings, clock)  # a new process: state comes back from Elasticsearch
    assert run_until(restarted, clock, SPIKE[1] + timedelta(minutes=5)) == []  # no re-fire after the restart
    assert len(restarted.firing()) == 3
    rest = run_until(restarted, clock, SPIKE[1] + timedelta(minutes=150))  # two hours of normal news
    assert sorted(e.labels["scope"] for e in rest) == ["all", "ticker", "topic"]
    assert all(e.status == "resolved" and e.ends_at for e in rest)
    assert restarted.firing() == []
    statuses = [r.json()["status"] for r in receiver.requests]
    assert statuses == ["firing"] * 3 + ["resolved"] * 3
    restarted.stop()

    history = client.search(index=settings.es.alerts_index, size=20, query={"term": {"status": "resolved"}})
    assert history["hits"]["total"]["value"] == 3
    doc = history["hits"]["hits"][0]["_source"]
    assert doc["labels"]["alertname"] == "NegativeNewsSpike" and doc["ends_at"] and "negative_share" in doc


def test_one_evaluator_at_a_time(settings: Settings, client: Elasticsearch, clock: ManualClock) -> None:
    index_news(client, settings.es.news_index, news(T0, 120) + news(SPIKE[0], 30, spike=True))
    clock.now = SPIKE[0]
    holder, other = service(settings, clock), service(settings, clock)
    assert run_until(holder, clock, SPIKE[1])  # holds the lease (renewed at every run) and fires
    assert other.evaluator.run_once() == []
    assert other.evaluator.last_end is None  # never evaluated: the holder's lease is live
    holder.stop()  # releases the lease
    assert other.evaluator.run_once() == []  # takes over with the holder's state: nothing fires twice
    assert other.evaluator.last_end == clock.now
    assert len(other.firing()) == 0 and len(other.evaluator.firing()) == 3
    other.stop()


def test_pending_deliveries_resume_after_restart(
    settings: Settings, client: Elasticsearch, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.statuses = [503]
    index = AlertIndices(settings.es.alerts_index).outbox
    config = NotifierConfig.of(AlertSettings(webhook_urls=[receiver.url], hmac_secret=SECRET, retry_initial=2))
    event = AlertEvent(
        "firing",
        {"alertname": "NegativeNewsSpike", "rule": "all", "scope": "all", "severity": "warning"},
        {"summary": "s"},
        clock.now,
        None,
        clock.now,
    )
    before = Notifier(config, EsOutbox(client, index), httpx.Client(timeout=5), clock)
    before.enqueue([event])
    assert before.deliver_due().retrying == 1
    del before  # the process ends with the delivery pending

    clock.advance(timedelta(seconds=5))
    after = Notifier(config, EsOutbox(client, index), httpx.Client(timeout=5), clock)
    assert after.deliver_due().delivered == 1
    assert [r.json()["status"] for r in receiver.requests] == ["firing", "firing"]
    assert all(r.signature_ok for r in receiver.requests)
    clock.advance(timedelta(minutes=5))
    assert after.deliver_due().delivered == 0
