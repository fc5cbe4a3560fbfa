"""Webhook bodies: Alertmanager's webhook JSON (version 4), so existing receivers work, and Slack messages."""

from __future__ import annotations

from typing import Any

from alerts.alert import AlertEvent
from monitor.times import iso

ZERO_TIME = "0001-01-01T00:00:00Z"  # what Alertmanager sends as endsAt while an alert fires
GROUP_BY = ("alertname", "rule", "scope", "topic", "ticker")


def _alert(event: AlertEvent, external_url: str) -> dict[str, Any]:
    return {
        "status": event.status,
        "labels": event.labels,
        "annotations": event.annotations,
        "startsAt": iso(event.starts_at),
        "endsAt": iso(event.ends_at) if event.ends_at else ZERO_TIME,
        "generatorURL": event.annotations.get("kibana_url", external_url),
        "fingerprint": event.fingerprint,
        "evidence": list(event.evidence),  # the episode's top negative headlines (receivers ignore unknown fields)
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
    """A Slack incoming-webhook message: a fallback text, one mrkdwn section, and the top negative headlines."""
    icon = ":red_circle:" if event.status == "firing" else ":white_check_mark:"
    title = f"{icon} [{event.status.upper()}] {event.annotations.get('summary', event.labels['alertname'])}"
    since = f"since {iso(event.starts_at)}" + (f", ended {iso(event.ends_at)}" if event.ends_at else "")
    detail = event.annotations.get("description", "")
    link = event.annotations.get("kibana_url", external_url)
    text = f"{title}\n{detail}\n{since}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{detail}\n_{since}_ <{link}|Kibana>"}}
    ]
    if event.evidence:
        lines = "\n".join(_slack_headline(h) for h in event.evidence)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Top negative headlines*\n{lines}"}})
        text += "\n" + "\n".join(f"- {h.get('title', '')}" for h in event.evidence)
    return {"text": text, "blocks": blocks}


def _slack_headline(headline: dict[str, Any]) -> str:
    title = _escape(str(headline.get("title", "")))
    shown = f"<{headline['url']}|{title}>" if headline.get("url") else title
    score = f", {headline['score']:.2f}" if isinstance(headline.get("score"), int | float) else ""
    return f"• {shown} ({_escape(str(headline.get('source', '')))}, {headline.get('published_at', '')}{score})"


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
