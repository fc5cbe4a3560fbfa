from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from alerts.alert import AlertEvent
from alerts.evidence import discover_url, headline_line, kuery
from alerts.payloads import ZERO_TIME, alertmanager_payload, slack_payload
from alerts.scopes import ALL, ScopeKey
from alerts.signing import sign
from tests.support.signatures import verify

LABELS = {
    "alertname": "NegativeNewsSpike",
    "rule": "ticker",
    "scope": "ticker",
    "severity": "warning",
    "ticker": "AAPL",
}
START = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)


def event(status: str = "firing") -> AlertEvent:
    end = datetime(2024, 1, 2, 10, 15, tzinfo=UTC) if status == "resolved" else None
    return AlertEvent(
        status,
        LABELS,
        {
            "summary": "Negative news 45% vs baseline 20% (2.2x) in ticker AAPL",
            "description": "45 of 100 news negative",
        },
        START,
        end,
        START,
    )  # type: ignore[arg-type]


def test_alertmanager_v4_shape() -> None:
    payload = alertmanager_payload(event(), "finmon", "http://kibana:5601")
    assert set(payload) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert payload["version"] == "4" and payload["status"] == "firing" and payload["receiver"] == "finmon"
    assert payload["groupKey"] == '{}:{alertname="NegativeNewsSpike",rule="ticker",scope="ticker",ticker="AAPL"}'
    (alert,) = payload["alerts"]
    assert set(alert) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
        "evidence",
    }
    assert alert["startsAt"] == "2024-01-02T09:30:00Z" and alert["endsAt"] == ZERO_TIME
    assert len(alert["fingerprint"]) == 16


def test_resolved_payload_carries_ends_at() -> None:
    payload = alertmanager_payload(event("resolved"), "finmon", "http://kibana:5601")
    assert payload["status"] == "resolved" and payload["alerts"][0]["endsAt"] == "2024-01-02T10:15:00Z"


def test_slack_message() -> None:
    message = slack_payload(event(), "http://kibana:5601")
    assert "[FIRING]" in message["text"] and "AAPL" in message["text"]
    assert message["blocks"][0]["text"]["type"] == "mrkdwn" and len(message["blocks"]) == 1


HEADLINES = (
    {
        "title": "AAPL <recalls> & more",
        "source": "wire",
        "url": "https://w.test/1",
        "published_at": "2024-01-02T09:20:00Z",
        "score": -0.93,
    },
    {"title": "Second", "source": "blog", "published_at": "2024-01-02T09:25:00Z"},
)


def with_evidence() -> AlertEvent:
    link = "http://kibana:5601/app/discover#/?_g=x"
    annotations = {**event().annotations, "kibana_url": link, "headlines": "AAPL recalls (wire, ...)"}
    return dataclasses.replace(event(), annotations=annotations, evidence=HEADLINES)


def test_evidence_in_the_alertmanager_payload_and_the_slack_message() -> None:
    payload = alertmanager_payload(with_evidence(), "finmon", "http://kibana:5601")
    (alert,) = payload["alerts"]
    assert alert["evidence"] == list(HEADLINES) and alert["generatorURL"].endswith("_g=x")
    assert payload["commonAnnotations"]["headlines"].startswith("AAPL recalls")
    message = slack_payload(with_evidence(), "http://kibana:5601")
    shown = message["blocks"][1]["text"]["text"]
    assert (
        "<https://w.test/1|AAPL &lt;recalls&gt; &amp; more>" in shown and "-0.93" in shown and "Second (blog" in shown
    )
    assert "<http://kibana:5601/app/discover#/?_g=x|Kibana>" in message["blocks"][0]["text"]["text"]


def test_kibana_discover_link_and_headline_lines() -> None:
    start, end = datetime(2024, 1, 2, 9, 0, tzinfo=UTC), datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    url = discover_url("http://kibana:5601/", ScopeKey("ticker", "AAPL"), start, end)
    assert url.startswith(
        "http://kibana:5601/app/discover#/?_g=(time:(from:'2024-01-02T09:00:00Z',to:'2024-01-02T10:00:00Z'))"
    )
    assert "_a=(query:(language:kuery,query:'sentiment:negative%20and%20tickers:%22AAPL%22'))" in url
    assert kuery(ALL) == "sentiment:negative"
    assert (
        headline_line(HEADLINES[0])
        == "AAPL <recalls> & more (wire, 2024-01-02T09:20:00Z, score -0.93) https://w.test/1"
    )


def test_signature_round_trip_and_rejections() -> None:
    body = b'{"a":1}'
    signature = sign("s3cret", 1_700_000_000, body)
    assert signature.startswith("sha256=")
    assert verify("s3cret", "1700000000", body, signature, now=1_700_000_010)
    assert not verify("s3cret", "1700000000", body + b" ", signature, now=1_700_000_010)  # body tampered
    assert not verify("other", "1700000000", body, signature, now=1_700_000_010)  # wrong secret
    assert not verify("s3cret", "1700000001", body, signature, now=1_700_000_010)  # timestamp tampered
    assert not verify("s3cret", "1700000000", body, signature, now=1_700_001_000)  # replayed too late
