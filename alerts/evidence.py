"""What an alert carries beyond its figures: the episode's most negative headlines and a Kibana Discover link.

Pure: the headlines come from the source the caller passes (Elasticsearch, or the backtest's memory).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from alerts.alert import AlertEvent
from alerts.detector import Detector
from alerts.rules import Rules
from alerts.scopes import ScopeKey
from monitor.times import iso


class HeadlineSource(Protocol):
    def headlines(self, scope: ScopeKey, start: datetime, end: datetime, size: int) -> list[dict[str, Any]]: ...


def kuery(scope: ScopeKey) -> str:
    """The KQL filter of a scope's negative news."""
    where = f' and {scope.field}:"{scope.value}"' if scope.field else ""
    return f"sentiment:negative{where}"


def discover_url(kibana_url: str, scope: ScopeKey, start: datetime, end: datetime) -> str:
    """A Kibana Discover link to the scope's negative news over the episode (rison app and global state)."""
    query = kuery(scope).replace("'", "!'")
    g = f"(time:(from:'{iso(start)}',to:'{iso(end)}'))"
    a = f"(query:(language:kuery,query:'{query}'))"
    safe = ":(),'!"
    return f"{kibana_url.rstrip('/')}/app/discover#/?_g={quote(g, safe=safe)}&_a={quote(a, safe=safe)}"


def enrich(
    events: Sequence[AlertEvent], detector: Detector, rules: Rules, source: HeadlineSource, kibana_url: str = ""
) -> list[AlertEvent]:
    """New firing events get the episode's top negative headlines (kept by the detector for later events) and,
    when a Kibana URL is configured, a Discover link; the others carry what their episode already found."""
    by_name = {rule.name: rule for rule in rules.rules}
    out: list[AlertEvent] = []
    for event in events:
        rule = by_name.get(event.labels["rule"])
        if event.status == "firing" and event.repeat == 0 and rule is not None and event.scope is not None:
            event = _first_firing(event, event.scope, detector, rule.evidence.headlines, source, kibana_url)
        out.append(event)
    return out


def _first_firing(
    event: AlertEvent, scope: ScopeKey, detector: Detector, size: int, source: HeadlineSource, kibana_url: str
) -> AlertEvent:
    """The episode's headlines from its onset on, and its Discover link, on the event and kept by the detector."""
    onset = event.onset or event.at
    found = source.headlines(scope, onset, event.at, size) if size else []
    annotations = dict(event.annotations)
    if found:
        annotations["headlines"] = "\n".join(headline_line(h) for h in found)
    if kibana_url:
        annotations["kibana_url"] = discover_url(kibana_url, scope, onset, event.at)
    detector.attach_evidence(event.fingerprint, found, annotations)
    return dataclasses.replace(event, annotations=annotations, evidence=tuple(found))


def headline_line(headline: dict[str, Any]) -> str:
    """`title (source, published_at, score -0.93) url`: one line of an alert's headlines annotation."""
    detail = ", ".join(
        str(part)
        for part in (
            headline.get("source"),
            headline.get("published_at"),
            f"score {headline['score']:.2f}" if isinstance(headline.get("score"), int | float) else None,
        )
        if part
    )
    url = f" {headline['url']}" if headline.get("url") else ""
    return f"{headline.get('title', '')} ({detail}){url}"
