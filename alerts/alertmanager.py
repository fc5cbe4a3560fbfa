"""Alerts as Alertmanager's API v2 takes them (`POST /api/v2/alerts`, a list of postable alerts), the way
Prometheus pushes: stable labels, annotations with the evidence, a generatorURL to the dashboard for the
alert's scope. A firing alert's endsAt is filled at send time, a few re-send periods ahead, so that it
resolves in Alertmanager by itself when finmon stops re-sending; a resolved one carries its resolution time.

Pure: no HTTP here (the notifier sends).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from alerts.alert import AlertEvent
from alerts.evidence import headline_line
from monitor.times import iso

API_PATH = "/api/v2/alerts"
RESEND_PERIODS = 4  # endsAt = now + 4 periods (Prometheus: 4 x max(resend delay of 1 m, evaluation interval))
MIN_PERIOD = timedelta(seconds=60)  # so a late evaluation (a busy machine, a 1 s demo) does not flap an alert
_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_]")


def api_url(base: str) -> str:
    """The alerts endpoint of an Alertmanager given by its base URL (or already by the endpoint)."""
    base = base.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


def label_name(name: str) -> str:
    """A Prometheus label name (Alertmanager refuses others): invalid characters become `_`."""
    cleaned = _INVALID_NAME.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def alert_labels(event: AlertEvent) -> dict[str, str]:
    """The event's identifying labels (alertname, rule, scope, topic or ticker, severity, the rule's own),
    empty values dropped: an empty label is no label to Alertmanager."""
    return {label_name(k): str(v) for k, v in sorted(event.labels.items()) if str(v) != ""}


def scope_url(dashboard_url: str, labels: dict[str, str]) -> str:
    """The dashboard for the alert's scope (scope=topic&topic=earnings, scope=all, ...)."""
    scope = labels.get("scope", "all")
    query = {"scope": scope, **({scope: labels[scope]} if scope in labels else {})}
    return f"{dashboard_url.rstrip('/')}/?{urlencode(query)}"


def alert_annotations(event: AlertEvent) -> dict[str, str]:
    """Summary, description and the evidence headlines (one per line), all as strings. An event sent before its
    episode's annotations took the headlines (a re-send right after the first firing) writes them as they did."""
    found = {label_name(k): str(v) for k, v in event.annotations.items() if v not in (None, "")}
    if "headlines" not in found and event.evidence:
        found["headlines"] = "\n".join(headline_line(h) for h in event.evidence)
    for name, value in event.values.items():
        if value is not None:
            found.setdefault(label_name(name), f"{value:.4g}" if isinstance(value, int | float) else str(value))
    return found


def postable_alert(event: AlertEvent, dashboard_url: str) -> dict[str, Any]:
    """One alert of the API v2 body; endsAt only when resolved (a firing one gets it at send time)."""
    labels = alert_labels(event)
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": alert_annotations(event),
        "startsAt": iso(event.starts_at),
        "generatorURL": scope_url(dashboard_url, labels),
    }
    if event.status == "resolved":
        alert["endsAt"] = iso(event.ends_at or event.at)
    return alert


def push_body(alerts: Sequence[str], now: datetime, hold: timedelta) -> bytes:
    """The request body for stored alerts (JSON each): firing ones end `hold` after `now` unless re-sent."""
    ends = iso(now + hold)
    batch = []
    for text in alerts:
        alert = json.loads(text)
        alert.setdefault("endsAt", ends)
        batch.append(alert)
    return json.dumps(batch, separators=(",", ":")).encode()


def episode_id(event: AlertEvent, target_id: str) -> str:
    """One outbox entry per alert episode and Alertmanager: each new state replaces the last one not sent."""
    return f"am-{event.fingerprint}-{int(event.starts_at.timestamp())}-{target_id}"
