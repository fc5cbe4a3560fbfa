from __future__ import annotations

from datetime import UTC, datetime

from alerts.model import AlertEvent
from alerts.payloads import ZERO_TIME, alertmanager_payload, slack_payload
from alerts.signing import sign, verify

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
    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert alert["startsAt"] == "2024-01-02T09:30:00Z" and alert["endsAt"] == ZERO_TIME
    assert len(alert["fingerprint"]) == 16


def test_resolved_payload_carries_ends_at() -> None:
    payload = alertmanager_payload(event("resolved"), "finmon", "http://kibana:5601")
    assert payload["status"] == "resolved" and payload["alerts"][0]["endsAt"] == "2024-01-02T10:15:00Z"


def test_slack_message() -> None:
    message = slack_payload(event(), "http://kibana:5601")
    assert "[FIRING]" in message["text"] and "AAPL" in message["text"]
    assert message["blocks"][0]["text"]["type"] == "mrkdwn"


def test_signature_round_trip_and_rejections() -> None:
    body = b'{"a":1}'
    signature = sign("s3cret", 1_700_000_000, body)
    assert signature.startswith("sha256=")
    assert verify("s3cret", "1700000000", body, signature, now=1_700_000_010)
    assert not verify("s3cret", "1700000000", body + b" ", signature, now=1_700_000_010)  # body tampered
    assert not verify("other", "1700000000", body, signature, now=1_700_000_010)  # wrong secret
    assert not verify("s3cret", "1700000001", body, signature, now=1_700_000_010)  # timestamp tampered
    assert not verify("s3cret", "1700000000", body, signature, now=1_700_001_000)  # replayed too late
