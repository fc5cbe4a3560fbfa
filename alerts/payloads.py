"""Webhook bodies: Alertmanager's webhook JSON (version 4), so existing receivers work, and Slack messages."""

from __future__ import annotations

from typing import Any

from alerts.model import AlertEvent, iso

ZERO_TIME = "0001-01-01T00:00:00Z"  # what Alertmanager sends as endsAt while an alert fires
GROUP_BY = ("alertname", "rule", "scope", "topic", "ticker")


def _alert(event: AlertEvent, external_url: str) -> dict[str, Any]:
    return {
        "status": event.status,
        "labels": event.labels,
        "annotations": event.annotations,
        "startsAt": iso(event.starts_at),
        "endsAt": iso(event.ends_at) if event.ends_at else ZERO_TIME,
        "generatorURL": external_url,
        "fingerprint": event.fingerprint,
    }


def alertmanager_payload(event: AlertEvent, receiver: str, external_url: str) -> dict[str, Any]:
    """One notification group per alert, shaped exactly like Alertmanager's webhook_config payload."""
    group = {k: event.labels[k] for k in GROUP_BY if k in event.labels}
    group_key = "{}:{" + ",".join(f'{k}="{v}"' for k, v in group.items()) + "}"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": event.status,
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": event.labels,
        "commonAnnotations": event.annotations,
        "externalURL": external_url,
        "alerts": [_alert(event, external_url)],
    }


def slack_payload(event: AlertEvent, external_url: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: a fallback text and one mrkdwn section."""
    icon = ":red_circle:" if event.status == "firing" else ":white_check_mark:"
    title = f"{icon} [{event.status.upper()}] {event.annotations.get('summary', event.labels['alertname'])}"
    since = f"since {iso(event.starts_at)}" + (f", ended {iso(event.ends_at)}" if event.ends_at else "")
    detail = event.annotations.get("description", "")
    text = f"{title}\n{detail}\n{since}"
    return {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{title}*\n{detail}\n_{since}_ <{external_url}|Kibana>"},
            }
        ],
    }
